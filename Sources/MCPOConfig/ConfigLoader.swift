import Foundation
import JSONValue

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a config file asks the proxy to serve.
public struct ProxyConfig: Sendable, Equatable {
    /// The servers of `mcpServers`, in file order, disabled ones left out.
    public var servers: [ServerEntry]
    /// Things worth telling the user that do not stop the proxy; each names the file and the server or key.
    public var warnings: [String]
    /// Who may call (`auth`); nil when the file has none.
    public var auth: AuthConfig?
    /// The audit log (`audit`); nil when the file has none.
    public var audit: AuditSettings?
    /// `logFormat`; nil when the file does not say.
    public var logFormat: LogFormat?
    /// `store`: the store replicas share (audit log, pins); nil when the file has none.
    public var store: StoreLocation?
    /// `storePoolSize`: connections a PostgreSQL store keeps at most.
    public var storePoolSize: Int?
    /// `storeKeyFile`: the key that seals OAuth secrets in the shared store.
    public var storeKey: StoreKey?
    /// `inlineBinaryLimit`: bytes over which binaries in answers are linked instead of inlined.
    public var inlineBinaryLimit: Int?
    /// `fileTtlSeconds`: how long a linked binary stays readable.
    public var fileTtlSeconds: Double?
    /// `elicitationTimeoutSeconds`: how long a server's question waits for the caller's answer.
    public var elicitationTimeoutSeconds: Double?

    public init(
        servers: [ServerEntry] = [], warnings: [String] = [], auth: AuthConfig? = nil, audit: AuditSettings? = nil,
        logFormat: LogFormat? = nil
    ) {
        self.servers = servers
        self.warnings = warnings
        self.auth = auth
        self.audit = audit
        self.logFormat = logFormat
    }
}

/// Why a config file cannot be used.
///
/// Errors about the file as a whole (missing, unreadable, syntax, shape) have no `server`; their `message` is
/// already the full sentence and names the file, as mcpo's do. Errors about one server entry name the server
/// and, when one key is at fault, the key as a path (`args[1]`, `env.PORT`, `headers.Authorization`).
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    public let file: String
    public let server: String?
    public let key: String?
    public let message: String
    /// Where a syntax error is, counted from 1.
    public let line: Int?
    public let column: Int?

    public init(
        file: String, server: String? = nil, key: String? = nil, message: String, line: Int? = nil, column: Int? = nil
    ) {
        self.file = file
        self.server = server
        self.key = key
        self.message = message
        self.line = line
        self.column = column
    }

    /// `Invalid configuration in <file>: server '<server>', key '<key>': <message>` for an entry,
    /// `Invalid configuration in <file>: key '<key>': <message>` for a top-level key, else `message`.
    public var description: String {
        if let server {
            var text = "Invalid configuration in \(file): server '\(server)'"
            if let key { text += ", key '\(key)'" }
            return text + ": " + message
        }
        guard let key else { return message }
        return "Invalid configuration in \(file): key '\(key)': \(message)"
    }
}

/// Reads Claude Desktop style config files (`{"mcpServers": {name: entry}}`), JSON or YAML.
public enum ConfigLoader {
    /// Reads and validates the file at `path` (relative paths are relative to the current directory).
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> ProxyConfig {
        let bytes = try readFile(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: path, message: "Config file \(path) is not valid UTF-8 text")
        }
        return try parse(text: text, path: path, environment: environment)
    }

    /// Validates config text as if read from `path`: `.yaml`/`.yml` (any case) is YAML, anything else JSON
    /// with `//` and `/* */` comments and trailing commas allowed. `path` also names the file in messages and
    /// is the base of relative `cwd` values.
    public static func parse(
        text: String, path: String, environment: [String: String]
    ) throws(ConfigError) -> ProxyConfig {
        let isYAML = isYAMLPath(path)
        let document = try document(text, path: path, kind: "config file")
        guard case .object(let top) = document else {
            throw ConfigError(
                file: path,
                message: "Config file \(path) must contain \(isYAML ? "a mapping" : "an object") at the top level, "
                    + "got \(EntryDecoder.typeName(document))")
        }
        guard let servers = top["mcpServers"] else {
            throw ConfigError(file: path, message: "No 'mcpServers' found in config file: \(path)")
        }
        let entries: OrderedJSONObject
        switch servers {
        case .object(let object): entries = object
        case .null: entries = [:]
        default:
            throw ConfigError(
                file: path,
                message: "'mcpServers' in config file \(path) must be an object mapping server names to entries, "
                    + "got \(EntryDecoder.typeName(servers))")
        }

        var decoder = EntryDecoder(
            file: path, isYAML: isYAML, environment: environment, baseDirectory: directory(of: path))
        var result: [ServerEntry] = []
        for (name, entry) in entries {
            if let server = try decoder.decode(name: name, entry: entry) { result.append(server) }
        }
        var warnings = decoder.warnings
        var auth: AuthConfig?
        if let written = top["auth"], !written.isNull {
            var authDecoder = AuthDecoder(file: path, environment: environment)
            auth = try authDecoder.decode(written)
            warnings += authDecoder.warnings
        }
        let topLevel = GovernanceDecoder(error: { key, message in ConfigError(file: path, key: key, message: message) })
        var store: StoreLocation?
        if let written = top["store"], !written.isNull {
            let expanded = try AuthDecoder(file: path, environment: environment).expand(written, at: "store")
            guard case .string(let text) = expanded,
                let location = StoreLocation.parse(text, relativeTo: directory(of: path))
            else {
                throw ConfigError(
                    file: path, key: "store",
                    message:
                        "expected postgres://user:password@host:5432/database?sslmode=require, sqlite:///path, or a path"
                )
            }
            store = location
        }
        var storePoolSize: Int?
        if let written = top["storePoolSize"], !written.isNull {
            guard let size = written.intValue, (2...100).contains(size) else {
                throw ConfigError(file: path, key: "storePoolSize", message: "expected a whole number from 2 to 100")
            }
            storePoolSize = size
        }
        var storeKey: StoreKey?
        if let written = top["storeKeyFile"], !written.isNull {
            let expanded = try AuthDecoder(file: path, environment: environment).expand(written, at: "storeKeyFile")
            guard case .string(let file) = expanded, !file.isEmpty else {
                throw ConfigError(
                    file: path, key: "storeKeyFile", message: "expected the path of a file holding \(StoreKey.expected)"
                )
            }
            let keyPath = file.hasPrefix("/") ? file : directory(of: path) + "/" + file
            do {
                storeKey = try StoreKey.read(path: keyPath)
            } catch {
                throw ConfigError(file: path, key: "storeKeyFile", message: error.description)
            }
        }
        var audit: AuditSettings?
        if let written = top["audit"], !written.isNull, written != .bool(false) {
            let expanded = try AuthDecoder(file: path, environment: environment).expand(written, at: "audit")
            audit = try topLevel.decodeAudit(
                expanded, defaultStore: store ?? StoreLocation.defaultLocation(environment: environment),
                baseDirectory: directory(of: path))
            if let store, let audit, audit.store != store {
                throw ConfigError(
                    file: path, key: "audit.store",
                    message: "names another store than 'store'; the audit log goes to the shared store: remove one")
            }
        }
        var inlineBinaryLimit: Int?
        if let written = top["inlineBinaryLimit"], !written.isNull {
            guard let bytes = written.intValue, bytes > 0, written.numberValue?.isIntegerLiteral == true else {
                throw ConfigError(
                    file: path, key: "inlineBinaryLimit", message: "expected a positive whole number of bytes")
            }
            inlineBinaryLimit = bytes
        }
        func positiveSeconds(_ key: String) throws(ConfigError) -> Double? {
            guard let written = top[key], !written.isNull else { return nil }
            guard let seconds = written.numberValue?.doubleValue, seconds > 0, seconds.isFinite else {
                throw ConfigError(file: path, key: key, message: "expected a positive number of seconds")
            }
            return seconds
        }
        let fileTtlSeconds = try positiveSeconds("fileTtlSeconds")
        let elicitationTimeoutSeconds = try positiveSeconds("elicitationTimeoutSeconds")
        var logFormat: LogFormat?
        if let written = top["logFormat"], !written.isNull {
            guard case .string(let text) = written, let format = LogFormat(rawValue: text.lowercased()) else {
                throw ConfigError(file: path, key: "logFormat", message: "expected \"text\" or \"json\"")
            }
            logFormat = format
        }
        if entries.isEmpty {
            warnings.append("\(path): 'mcpServers' is empty; no servers are served")
        } else if result.isEmpty {
            warnings.append("\(path): every server in 'mcpServers' is disabled; no servers are served")
        }
        var config = ProxyConfig(servers: result, warnings: warnings, auth: auth, audit: audit, logFormat: logFormat)
        config.store = store
        config.storePoolSize = storePoolSize
        config.storeKey = storeKey
        config.inlineBinaryLimit = inlineBinaryLimit
        config.fileTtlSeconds = fileTtlSeconds
        config.elicitationTimeoutSeconds = elicitationTimeoutSeconds
        return config
    }

    /// Reads `--auth-config FILE` (single-server mode): the `auth` object (the file's `auth` member, or the whole file),
    /// and the server's `toolScopes`, `forwardHeaders`, `forwardToken` and `tenantHeader` from the top of the file.
    public static func loadAuth(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> (auth: AuthConfig, access: ServerAccess, warnings: [String]) {
        let bytes = try readFile(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: path, message: "Auth config file \(path) is not valid UTF-8 text")
        }
        let document = try document(text, path: path, kind: "auth config file")
        guard case .object(let top) = document else {
            throw ConfigError(file: path, message: "Auth config file \(path) must hold an object at the top level")
        }
        var decoder = AuthDecoder(file: path, environment: environment)
        let auth: AuthConfig
        if let nested = top["auth"] {
            auth = try decoder.decode(nested)
        } else {
            var object = top
            for key in AccessDecoder.keys { object[key] = nil }
            auth = try decoder.decode(.object(object), at: "auth")
        }
        var expanded = top
        for key in AccessDecoder.keys {
            guard let value = top[key] else { continue }
            expanded[key] = try decoder.expand(value, at: key)
        }
        let access = try AccessDecoder(error: { key, message in ConfigError(file: path, key: key, message: message) })
            .decode(expanded)
        return (auth, access, decoder.warnings)
    }

    static func isYAMLPath(_ path: String) -> Bool {
        let lowercased = path.lowercased()
        return lowercased.hasSuffix(".yaml") || lowercased.hasSuffix(".yml")
    }

    /// The absolute directory holding `path`, the base for relative `cwd` values.
    /// The file's text as a document: YAML by its extension, else JSON with comments and trailing commas; a syntax
    /// error names the file (`kind` says which), the line and the column.
    static func document(_ text: String, path: String, kind: String) throws(ConfigError) -> JSON {
        if isYAMLPath(path) { return try YAMLDocument.parse(text, path: path) }
        do {
            return try JSON.parse(text, options: .lenientConfig)
        } catch {
            throw ConfigError(
                file: path, message: "Invalid JSON in \(kind) \(path): \(error)", line: error.line,
                column: error.column)
        }
    }

    static func directory(of path: String) -> String {
        URL(fileURLWithPath: path.isEmpty ? "." : path).deletingLastPathComponent().standardizedFileURL.path
    }

    private static func readFile(_ path: String) throws(ConfigError) -> [UInt8] {
        func failure(_ code: Int32) -> ConfigError {
            if code == ENOENT || code == ENOTDIR {
                return ConfigError(file: path, message: "Config file not found: \(path)")
            }
            let reason = code == EISDIR ? "it is a directory" : String(cString: strerror(code))
            return ConfigError(file: path, message: "Cannot read config file \(path): \(reason)")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure(errno) }
        if (status.st_mode & S_IFMT) == S_IFDIR { throw failure(EISDIR) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return bytes
            } else if errno != EINTR {
                throw failure(errno)
            }
        }
    }
}
