import Foundation
import MCPOSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Tells when a config file has changed, however it was changed: written in place, replaced by an editor's
/// write-to-temp-then-rename, or swapped through a symlink as Kubernetes does with ConfigMaps.
///
/// It watches the file's folder with inotify (so a rename over the file is seen) and, on every wake-up and
/// at least once a second, compares the file's identity (resolved path, inode, size, modification time).
/// A change is reported once the identity has been stable for the debounce interval, so a burst of writes
/// gives one reload.
public final class ConfigWatcher: Sendable {
    public let path: String
    private let debounce: Duration
    private let stopped = StopFlag()

    /// Shared with the watching thread, which outlives any one call.
    private final class StopFlag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .relaxed) }
        func set() { value.store(true, ordering: .relaxed) }
    }

    public init(path: String, debounce: Duration = .milliseconds(200)) {
        self.path = path
        self.debounce = debounce
    }

    /// A stream that yields after each settled change, until `stop()`.
    public func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let path = self.path
        let debounce = self.debounce
        let stopped = self.stopped
        let started = OSThread.detach {
            ConfigWatcher.watch(path: path, debounce: debounce, stopped: stopped) { continuation.yield() }
            continuation.finish()
        }
        if !started { continuation.finish() }
        return stream
    }

    public func stop() {
        stopped.set()
    }

    private struct FileIdentity: Equatable {
        var resolvedPath: String
        var inode: UInt64
        var size: Int64
        var modified: timespec

        static func == (lhs: FileIdentity, rhs: FileIdentity) -> Bool {
            lhs.resolvedPath == rhs.resolvedPath && lhs.inode == rhs.inode && lhs.size == rhs.size
                && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
        }

        /// nil while the file is missing (between an editor's delete and rename, say).
        static func of(_ path: String) -> FileIdentity? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? path
            let real = realpath(path, nil)
            defer { free(real) }
            return FileIdentity(
                resolvedPath: real.map { String(cString: $0) } ?? resolved, inode: UInt64(info.st_ino),
                size: Int64(info.st_size), modified: info.st_mtim)
        }
    }

    private static func watch(path: String, debounce: Duration, stopped: StopFlag, onChange: () -> Void) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = inotify_init1(Int32(IN_CLOEXEC))
        if descriptor >= 0 {
            let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MODIFY)
            _ = inotify_add_watch(descriptor, directory.isEmpty ? "." : directory, mask)
        }
        defer { if descriptor >= 0 { close(descriptor) } }

        var applied = FileIdentity.of(path)
        var pending: (identity: FileIdentity?, since: ContinuousClock.Instant)?
        var buffer = [UInt8](repeating: 0, count: 4096)
        let debounceMilliseconds = Int32(
            debounce.components.seconds * 1000 + debounce.components.attoseconds / 1_000_000_000_000_000)
        while !stopped.isSet {
            // Short waits while a change settles, otherwise a one-second poll that also covers lost events.
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let timeout: Int32 = pending == nil ? 1000 : max(debounceMilliseconds / 4, 10)
            if descriptor >= 0, poll(&poller, 1, timeout) > 0 {
                _ = read(descriptor, &buffer, buffer.count)
            } else if descriptor < 0 {
                usleep(UInt32(timeout) * 1000)
            }
            let now = ContinuousClock.now
            let current = FileIdentity.of(path)
            if let waiting = pending {
                if current != waiting.identity {
                    pending = (current, now)
                } else if now - waiting.since >= debounce, current != nil {
                    pending = nil
                    if current != applied {
                        applied = current
                        onChange()
                    }
                }
            } else if current != applied {
                pending = (current, now)
            }
        }
    }
}
