import Crypto
import Foundation
import JSONValue
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where tokens (per server, and per user in multi-user mode) and client registrations (per server, keyed by
/// issuer) are kept. `user` is nil in single-user mode.
public protocol TokenStore: Sendable {
    func loadTokens(server: String, user: String?) async throws(OAuthError) -> OAuthTokens?
    func saveTokens(_ tokens: OAuthTokens, server: String, user: String?) async throws(OAuthError)
    func deleteTokens(server: String, user: String?) async throws(OAuthError)
    func loadClients(server: String) async throws(OAuthError) -> [ClientRegistration]
    func saveClients(_ clients: [ClientRegistration], server: String) async throws(OAuthError)
}

/// Tokens in this process only (`storage_type: memory`).
public final class MemoryTokenStore: TokenStore {
    private struct Key: Hashable {
        var server: String
        var user: String?
    }

    private let tokens = Mutex<[Key: OAuthTokens]>([:])
    private let clients = Mutex<[String: [ClientRegistration]]>([:])

    public init() {}

    public func loadTokens(server: String, user: String?) async throws(OAuthError) -> OAuthTokens? {
        tokens.withLock { $0[Key(server: server, user: user)] }
    }

    public func saveTokens(_ value: OAuthTokens, server: String, user: String?) async throws(OAuthError) {
        tokens.withLock { $0[Key(server: server, user: user)] = value }
    }

    public func deleteTokens(server: String, user: String?) async throws(OAuthError) {
        _ = tokens.withLock { $0.removeValue(forKey: Key(server: server, user: user)) }
    }

    public func loadClients(server: String) async throws(OAuthError) -> [ClientRegistration] {
        clients.withLock { $0[server] ?? [] }
    }

    public func saveClients(_ value: [ClientRegistration], server: String) async throws(OAuthError) {
        clients.withLock { $0[server] = value }
    }
}

/// Tokens in files (`storage_type: file`): one JSON file per server (`<server>.tokens.json`), per user in
/// multi-user mode (`<server>.users/<sha256(user)>.json`), and `<server>.clients.json` for registrations.
///
/// The folder is `$XDG_CONFIG_HOME/mcpo/tokens`, else `~/.config/mcpo/tokens`, created 0700 (and tightened
/// to 0700 if it is looser). Every file is written to a fresh temporary file opened with
/// `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600, synced, then renamed over the old one, so a reader never sees a
/// half-written file and the secret is never readable by others, even for an instant. Files found with
/// looser modes are tightened to 0600 when read; symbolic links are refused.
public struct FileTokenStore: TokenStore {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The store in the default folder for `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(directory: Self.defaultDirectory(environment: environment))
    }

    /// `$XDG_CONFIG_HOME/mcpo/tokens` when that variable is an absolute path, else `$HOME/.config/mcpo/tokens`.
    public static func defaultDirectory(environment: [String: String]) -> String {
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            return config + "/mcpo/tokens"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/mcpo/tokens"
    }

    /// A file-name-safe form of a server name: `[A-Za-z0-9._-]` kept, anything else replaced, plus a short
    /// hash when something was replaced (so `a/b` and `a_b` do not collide).
    static func fileStem(_ server: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        var stem = String(server.map { allowed.contains($0) ? $0 : "_" })
        if stem != server || stem.hasPrefix(".") || stem.isEmpty {
            stem = stem.trimmingCharacters(in: CharacterSet(charactersIn: ".")) + "-" + hex(server).prefix(12)
        }
        return String(stem.prefix(96))
    }

    static func hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func tokensPath(server: String, user: String?) -> String {
        guard let user else { return directory + "/" + Self.fileStem(server) + ".tokens.json" }
        return usersDirectory(server: server) + "/" + Self.hex(user).prefix(32) + ".json"
    }

    func usersDirectory(server: String) -> String { directory + "/" + Self.fileStem(server) + ".users" }

    func clientsPath(server: String) -> String { directory + "/" + Self.fileStem(server) + ".clients.json" }

    public func loadTokens(server: String, user: String?) async throws(OAuthError) -> OAuthTokens? {
        let path = tokensPath(server: server, user: user)
        return try await SecureFile.offload { () throws(OAuthError) in
            try SecureFile.readJSON(path).flatMap(OAuthTokens.init(json:))
        }
    }

    public func saveTokens(_ tokens: OAuthTokens, server: String, user: String?) async throws(OAuthError) {
        let (directory, users, path) = (
            directory, usersDirectory(server: server), tokensPath(server: server, user: user)
        )
        let json = tokens.json
        try await SecureFile.offload { () throws(OAuthError) in
            try SecureFile.makeDirectory(directory)
            if user != nil { try SecureFile.makeDirectory(users) }
            try SecureFile.writeJSON(json, to: path)
        }
    }

    public func deleteTokens(server: String, user: String?) async throws(OAuthError) {
        let path = tokensPath(server: server, user: user)
        try await SecureFile.offload { () throws(OAuthError) in
            if unlink(path) != 0 && errno != ENOENT {
                throw .storage("cannot delete \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    public func loadClients(server: String) async throws(OAuthError) -> [ClientRegistration] {
        let path = clientsPath(server: server)
        return try await SecureFile.offload { () throws(OAuthError) in
            guard let json = try SecureFile.readJSON(path) else { return [] }
            return (json["clients"]?.arrayValue ?? []).compactMap(ClientRegistration.init(json:))
        }
    }

    public func saveClients(_ clients: [ClientRegistration], server: String) async throws(OAuthError) {
        let (directory, path) = (directory, clientsPath(server: server))
        let json: JSON = ["clients": .array(clients.map(\.json))]
        try await SecureFile.offload { () throws(OAuthError) in
            try SecureFile.makeDirectory(directory)
            try SecureFile.writeJSON(json, to: path)
        }
    }
}

/// POSIX file operations for secrets.
enum SecureFile {
    /// Runs blocking file work (open, write, fsync, rename) on NIO's thread pool, off the cooperative pool.
    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws(OAuthError) -> T) async throws(OAuthError)
        -> T
    {
        do {
            return try await NIOThreadPool.singleton.runIfActive { try work() }
        } catch let error as OAuthError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    /// Creates `path` and missing parents with mode 0700; tightens the last component to 0700 if it exists with
    /// a looser mode. Refuses a path that is not a directory or not owned by this user.
    static func makeDirectory(_ path: String) throws(OAuthError) {
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .storage("\(path) is not a directory") }
            guard info.st_uid == geteuid() else { throw .storage("\(path) belongs to another user") }
            if info.st_mode & 0o077 != 0 && chmod(path, 0o700) != 0 {
                throw .storage("cannot make \(path) private: \(String(cString: strerror(errno)))")
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path && parent != "/" {
            var parentInfo = stat()
            if stat(parent, &parentInfo) != 0 { try makeDirectory(parent) }
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .storage("cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The JSON in `path`, nil if there is no file. Tightens a looser mode to 0600; refuses links and files of
    /// other users; a file that is not JSON counts as absent (it is replaced on the next write).
    static func readJSON(_ path: String) throws(OAuthError) -> JSON? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw .storage("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw .storage("\(path) is not a regular file")
        }
        guard info.st_uid == geteuid() else { throw .storage("\(path) belongs to another user") }
        if info.st_mode & 0o077 != 0 { _ = fchmod(descriptor, 0o600) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .storage("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 4 << 20 { throw .storage("\(path) is too large") }
        }
        return try? JSON.parse(bytes)
    }

    /// Writes `json` to `path` atomically with mode 0600 (see `FileTokenStore`).
    static func writeJSON(_ json: JSON, to path: String) throws(OAuthError) {
        let temporary = path + ".tmp-" + RandomToken.make(bytes: 9)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .storage("cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var bytes = json.prettyText.utf8.map { $0 }
        bytes.append(0x0A)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(temporary)
                throw .storage("cannot write \(temporary): \(reason)")
            }
            written += count
        }
        _ = fchmod(descriptor, 0o600)  // in case the umask was unusual
        _ = fsync(descriptor)
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .storage("cannot replace \(path): \(reason)")
        }
    }
}
