import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Binaries too large to inline in an answer (`inlineBinaryLimit`), served at `GET /files/<id>` to the caller whose
/// call made them for `fileTtlSeconds`, then gone. Held in memory up to `memoryLimit` in all, beyond it in a private
/// temporary folder (0700, files 0600); removed at expiry and when the proxy stops.
final class FileStore: Sendable {
    struct Settings: Sendable, Equatable {
        /// Binaries larger than this (decoded) are served from here instead of as data URLs.
        var inlineLimit: Int = 1 << 20
        var ttl: Duration = .seconds(600)
        /// Bytes held in memory at most, all files together.
        var memoryLimit: Int = 64 << 20
    }

    private enum Storage {
        case memory([UInt8])
        case disk(String)
    }

    private struct File {
        let owner: String
        let contentType: String
        let size: Int
        let expires: ContinuousClock.Instant
        let storage: Storage
    }

    private struct State {
        var settings: Settings
        var files: [String: File] = [:]
        var inMemory = 0
        var folder: String?
        var sweeper: Task<Void, Never>?
        var stopped = false
    }

    private let state: Mutex<State>
    private let logger: Logger

    init(settings: Settings = Settings(), logger: Logger) {
        self.state = Mutex(State(settings: settings))
        self.logger = logger
    }

    var settings: Settings { state.withLock { $0.settings } }

    func use(_ settings: Settings) {
        state.withLock { $0.settings = settings }
    }

    var count: Int { state.withLock { $0.files.count } }

    /// The route a file is served at, under the proxy's address (`base`: scheme, host and root path).
    static func url(base: String, id: String) -> String { base + "/files/" + id }

    /// Keeps `bytes` for `owner`; the new file's id, or nil when it cannot be kept (then the bytes stay inline).
    func put(owner: String, contentType: String, bytes: [UInt8]) -> String? {
        let id = Self.newID()
        let now = ContinuousClock.now
        let (ttl, toMemory, stopped) = state.withLock { state -> (Duration, Bool, Bool) in
            let fits = state.inMemory + bytes.count <= state.settings.memoryLimit
            if fits { state.inMemory += bytes.count }
            return (state.settings.ttl, fits, state.stopped)
        }
        guard !stopped else { return nil }
        let storage: Storage
        if toMemory {
            storage = .memory(bytes)
        } else {
            guard let path = writeToDisk(id: id, bytes: bytes) else { return nil }
            storage = .disk(path)
        }
        let file = File(owner: owner, contentType: contentType, size: bytes.count, expires: now + ttl, storage: storage)
        state.withLock { state in
            state.files[id] = file
            if state.sweeper == nil {
                state.sweeper = Task { [weak self] in await self?.sweep(every: ttl / 4) }
            }
        }
        return id
    }

    /// The file's type and bytes, when it exists, has not expired, and `owner` made it.
    func get(id: String, owner: String) -> (contentType: String, bytes: [UInt8])? {
        let now = ContinuousClock.now
        guard let file = state.withLock({ $0.files[id] }), file.expires > now,
            CallerKey.equalInConstantTime(file.owner, owner)
        else { return nil }
        switch file.storage {
        case .memory(let bytes):
            return (file.contentType, bytes)
        case .disk(let path):
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return (file.contentType, Array(data))
        }
    }

    private func sweep(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: max(interval, .milliseconds(100)))
            removeExpired(now: .now)
        }
    }

    func removeExpired(now: ContinuousClock.Instant) {
        let expired = state.withLock { state -> [File] in
            let gone = state.files.filter { $0.value.expires <= now }
            for (id, file) in gone {
                state.files[id] = nil
                if case .memory = file.storage { state.inMemory -= file.size }
            }
            return Array(gone.values)
        }
        for file in expired {
            if case .disk(let path) = file.storage { unlink(path) }
        }
    }

    /// Removes every file and the folder (the proxy stops).
    func shutdown() {
        let (folder, sweeper) = state.withLock { state -> (String?, Task<Void, Never>?) in
            state.stopped = true
            state.files = [:]
            state.inMemory = 0
            defer { state.sweeper = nil }
            return (state.folder, state.sweeper)
        }
        sweeper?.cancel()
        if let folder { try? FileManager.default.removeItem(atPath: folder) }
    }

    private func writeToDisk(id: String, bytes: [UInt8]) -> String? {
        guard let folder = privateFolder() else { return nil }
        let path = folder + "/" + id
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            logger.warning("cannot keep a large binary in \(folder): \(String(cString: strerror(errno)))")
            return nil
        }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + written, bytes.count - written)  // non-empty: count > written
            }
            guard result > 0 else {
                unlink(path)
                return nil
            }
            written += result
        }
        return path
    }

    /// The folder of this process's files, made on first need (0700).
    private func privateFolder() -> String? {
        if let folder = state.withLock({ $0.folder }) { return folder }
        var template = Array((NSTemporaryDirectory() + "/mcpo-files-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            logger.warning("cannot make a folder for large binaries: \(String(cString: strerror(errno)))")
            return nil
        }
        let folder = String(cString: made)
        chmod(folder, 0o700)
        return state.withLock { state in
            if let existing = state.folder {
                rmdir(folder)
                return existing
            }
            state.folder = folder
            return folder
        }
    }

    /// 32 hex digits from the system's random source.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
