import ArgumentParser
import Foundation
import JSONValue
import Logging
import MCPOConfig
import MCPOHTTP
import Synchronization

/// `mcpo`: every mcpo 0.0.20 flag with its meaning, plus a few of our own.
///
/// As in mcpo, `-h` is the host (help is `--help` only), `-v` is the document version, and everything
/// after `--` is the server command (or, for remote server types, its URL).
public struct MCPOCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mcpo",
        abstract: "Serve MCP server tools as a REST API with an OpenAPI document.",
        usage: """
            mcpo [options] -- <server command> [args...]
            mcpo [options] --server-type streamable-http -- <url>
            mcpo [options] --config <mcp.json> [--hot-reload]
            """,
        discussion: "Documentation: README.md and docs/ in the swift-mcpo repository.",
        version: ProxyVersion.current,
        helpNames: [.long]
    )

    @Option(name: [.customLong("host"), .customShort("h")], help: "Address to bind.")
    var host: String = "0.0.0.0"

    @Option(name: [.customLong("port"), .customShort("p")], help: "Port to bind (0 picks a free one).")
    var port: Int = 8000

    @Option(
        name: [.customLong("api-key"), .customShort("k")],
        help: "API key required as 'Authorization: Bearer <key>' on tool routes; repeat for several keys.")
    var apiKeys: [String] = []

    @Flag(name: .customLong("strict-auth"), help: "With --api-key: protect every route, documents included.")
    var strictAuth = false

    @Option(
        name: .customLong("auth-config"),
        help:
            "Single-server mode: a file (JSON or YAML) with the 'auth' object and the server's toolScopes, forwardHeaders, forwardToken, tenantHeader (docs/auth.md)."
    )
    var authConfig: String?

    @Option(name: .customLong("cors-allow-origins"), help: "Allowed CORS origin; repeatable (default: *).")
    var corsAllowOrigins: [String] = []

    @Option(
        name: [.customLong("server-type"), .customLong("type")],
        help: "stdio, sse or streamable-http (also streamable_http, streamablehttp).")
    var serverType: String = "stdio"

    @Option(
        name: [.customLong("header"), .customShort("H")],
        help: "JSON object of headers for a remote server, e.g. '{\"Authorization\":\"Bearer x\"}'.")
    var header: String?

    @Option(name: [.customLong("config"), .customShort("c")], help: "Config file (Claude Desktop mcpServers format).")
    var config: String?

    @Flag(name: .customLong("hot-reload"), help: "Follow edits of the config file.")
    var hotReload = false

    @Option(name: [.customLong("name"), .customShort("n")], help: "OpenAPI info.title.")
    var name: String?

    @Option(name: [.customLong("description"), .customShort("d")], help: "OpenAPI info.description.")
    var description: String?

    @Option(name: [.customLong("version"), .customShort("v")], help: "OpenAPI info.version.")
    var documentVersion: String?

    @Option(name: [.customLong("ssl-certfile"), .customShort("t")], help: "TLS certificate (PEM) to serve HTTPS.")
    var sslCertfile: String?

    @Option(name: [.customLong("ssl-keyfile"), .customShort("K")], help: "TLS private key (PEM) to serve HTTPS.")
    var sslKeyfile: String?

    @Option(name: .customLong("root-path"), help: "Path prefix added by a reverse proxy in front (e.g. /api).")
    var rootPath: String = ""

    @Option(name: .customLong("path-prefix"), help: "Config mode: prefix of every server's routes (default /).")
    var pathPrefix: String = "/"

    @Option(
        name: [.customLong("env"), .customShort("e")],
        help: "KEY=VALUE set in the environment of the proxy and its servers; repeatable.")
    var env: [String] = []

    @Option(name: .customLong("env-path"), help: ".env file loaded into the environment (existing values win).")
    var envPath: String?

    @Option(name: .customLong("log-level"), help: "debug, info, warning, error or critical (env LOG_LEVEL).")
    var logLevel: String?

    @Option(
        name: .customLong("docs-assets"),
        help:
            "Folder with swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js for offline /docs (env MCPO_DOCS_ASSETS)."
    )
    var docsAssets: String?

    @Option(name: .customLong("timeout"), help: "Seconds one tool call may take (env MCPO_TIMEOUT; default 300).")
    var timeout: Double?

    @Option(
        name: .customLong("max-timeout"),
        help: "Most seconds a caller may ask for with the X-MCPO-Timeout header (default 3600).")
    var maxTimeout: Double = 3600

    @Option(
        name: .customLong("max-concurrent-calls"),
        help: "Calls one server runs at once (default 128; config key maxConcurrentCalls per server).")
    var maxConcurrentCalls: Int = 128

    @Option(name: .customLong("max-queued-calls"), help: "Calls waiting per server before 503 (default 1024).")
    var maxQueuedCalls: Int = 1024

    @Option(
        name: .customLong("max-response-size"),
        help: "Largest message accepted from a stdio server, in bytes (default 64 MiB); larger answers get 502.")
    var maxResponseSize: Int = 64 * 1024 * 1024

    @Option(
        name: .customLong("inline-binary-limit"),
        help:
            "Images, audio and blobs in an answer larger than this many bytes are linked (GET /files/<id>) instead of inlined as data URLs (default 1 MiB; config inlineBinaryLimit)."
    )
    var inlineBinaryLimit: Int?

    @Option(
        name: .customLong("file-ttl"),
        help: "Seconds a linked binary stays readable at /files/<id> (default 600; config fileTtlSeconds).")
    var fileTTL: Double?

    @Option(
        name: .customLong("elicitation-timeout"),
        help:
            "Seconds a server's question to the caller (409 with a continuation) waits for the answer before it is cancelled (default 300; config elicitationTimeoutSeconds)."
    )
    var elicitationTimeout: Double?

    @Option(name: .customLong("startup-timeout"), help: "Seconds a server may take to start and list its tools.")
    var startupTimeout: Double = 60

    @Option(name: .customLong("max-body-size"), help: "Largest accepted request body in bytes (default 16 MiB).")
    var maxBodySize: Int = 16 * 1024 * 1024

    @Option(name: .customLong("shutdown-timeout"), help: "Seconds to let calls in flight finish on SIGTERM.")
    var shutdownTimeout: Double = 10

    @Option(
        name: .customLong("client-header-timeout"),
        help: "Seconds a client may take to send a request head (default 30); then its connection is closed.")
    var clientHeaderTimeout: Double = 30

    @Option(
        name: .customLong("client-body-timeout"),
        help: "Seconds a request body may pause between two reads (default 30); then its connection is closed.")
    var clientBodyTimeout: Double = 30

    @Option(
        name: .customLong("keep-alive-timeout"),
        help: "Seconds a kept-alive client connection may wait for its next request (default 75).")
    var keepAliveTimeout: Double = 75

    @Option(
        name: .customLong("max-connections"),
        help: "Client connections open at once (default 10000); more wait to be accepted until one closes.")
    var maxConnections: Int = 10_000

    @Option(
        name: .customLong("audit"),
        help:
            "Keep an audit log of every call: a store (sqlite:///path/audit.db, a path, or default for ~/.local/state/mcpo/audit.db); docs/audit.md."
    )
    var audit: String?

    @Option(
        name: .customLong("store"),
        help:
            "Store shared by replicas (env MCPO_STORE): postgres://user:password@host:5432/db?sslmode=require, or sqlite:///path; docs/deploy.md."
    )
    var store: String?

    @Option(
        name: .customLong("confirm"),
        help: "Single-server mode: tools of this risk or higher need \"confirm\": true (high, medium, low, off).")
    var confirm: String?

    @Option(
        name: .customLong("pin-tools"), help: "Single-server mode: off, warn or block when a tool's definition changes."
    )
    var pinTools: String?

    @Option(name: .customLong("log-format"), help: "text (default) or json: one JSON object per line.")
    var logFormat: String?

    @Flag(name: .customLong("no-metrics"), help: "No metrics are kept and /metrics answers 404.")
    var noMetrics = false

    @Flag(
        name: .customLong("expose-resources"),
        help: "Single-server mode: the documents describe GET /resources and /resources/read (config: exposeResources)."
    )
    var exposeResources = false

    @Flag(
        name: .customLong("expose-prompts"),
        help:
            "Single-server mode: the documents describe GET /prompts and POST /prompts/<name> (config: exposePrompts).")
    var exposePrompts = false

    @Flag(
        name: .customLong("elicitation"),
        help:
            "Single-server mode: the server's questions during a call reach the caller as 409 with a continuation (config: elicitation)."
    )
    var elicitation = false

    @Argument(parsing: .postTerminator, help: "The server command and its arguments, or the server URL.")
    var serverCommand: [String] = []

    public init() {}

    /// Where Swift concurrency runs the proxy's tasks: told by `main.swift`, which installs the executor, and logged
    /// at start (a test reads it, so a toolchain that drops the runtime hook fails it loudly).
    public enum Executor: Sendable {
        /// On SwiftNIO's event loop threads (the default).
        case eventLoops
        /// On Swift's own thread pool: asked for with `MCPO_EXECUTOR=swift`, or the runtime has no hook.
        case swiftPool(reason: String)

        var description: String {
            switch self {
            case .eventLoops: "Swift tasks run on the event loop threads, a request's on its connection's loop"
            case .swiftPool(let reason): "Swift tasks run on Swift's own thread pool (\(reason))"
            }
        }
    }

    /// Parses the process arguments and runs; what `main.swift` calls (a library cannot hold `@main`).
    public static func runAsMain(executor: Executor = .swiftPool(reason: "not set up")) async {
        Self.executor.withLock { $0 = executor }
        // `mcpo audit …` and `mcpo pins …` read the store; everything else runs the proxy (as mcpo's command line).
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, first == "audit" || first == "pins" {
            await StoreCommands.run(first, Array(arguments.dropFirst()))
            return
        }
        do {
            var command = try parseAsRoot(Self.withAuditDefault(arguments))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    private static let executor = Mutex<Executor>(.swiftPool(reason: "not set up"))

    public func run() async throws {
        let logger = try makeLogger()
        logger.debug("\(Self.executor.withLock { $0 }.description)")
        try applyEnvironment()
        var settings = try proxySettings()
        var mode = try proxyMode(logger: logger)
        // The log format: the flag, else the config file's `logFormat` (read here once more for it alone).
        var format = try logFormat.map(Self.parseLogFormat)
        if format == nil, case .config(let path, _) = mode { format = (try? ConfigLoader.load(path: path))?.logFormat }
        settings.logFormat = format ?? .text
        ProxyLogHandler.use(settings.logFormat)
        settings.metrics = !noMetrics
        if let text = store ?? ProcessInfo.processInfo.environment["MCPO_STORE"], !text.isEmpty {
            guard let location = StoreLocation.parse(text, relativeTo: FileManager.default.currentDirectoryPath) else {
                throw ValidationError(
                    "--store (MCPO_STORE) expects postgres://user:password@host:5432/db, sqlite:///path or a path")
            }
            settings.store = location
        }
        if let text = ProcessInfo.processInfo.environment["MCPO_STORE_KEY"], !text.isEmpty {
            guard let key = StoreKey(base64: text) else {
                throw ValidationError("MCPO_STORE_KEY must be \(StoreKey.expected)")
            }
            settings.storeKey = key
        }
        if let audit {
            let location =
                audit == "default" || audit.isEmpty
                ? StoreLocation.defaultLocation()
                : StoreLocation.parse(audit, relativeTo: FileManager.default.currentDirectoryPath)
            guard let location else {
                throw ValidationError("--audit expects sqlite:///path/audit.db, a file path, postgres://…, or default")
            }
            settings.audit = AuditSettings(store: location)
        }
        if exposeResources || exposePrompts || elicitation {
            guard case .single(var entry) = mode else {
                throw ValidationError(
                    "--expose-resources, --expose-prompts and --elicitation are for single-server mode; in a config file, write 'exposeResources', 'exposePrompts' and 'elicitation' in a server's entry"
                )
            }
            entry.features.exposeResources = exposeResources
            entry.features.exposePrompts = exposePrompts
            entry.features.elicitation = elicitation
            mode = .single(entry)
        }
        if confirm != nil || pinTools != nil {
            guard case .single(var entry) = mode else {
                throw ValidationError(
                    "--confirm and --pin-tools are for single-server mode; in a config file, write 'confirm' and 'pinTools' in a server's entry"
                )
            }
            if let confirm {
                switch confirm.lowercased() {
                case "off": entry.governance.confirm = nil
                case let level:
                    guard let risk = ToolRisk(rawValue: level) else {
                        throw ValidationError("--confirm expects high, medium, low or off")
                    }
                    entry.governance.confirm = risk
                }
            }
            if let pinTools {
                guard let pins = PinMode(rawValue: pinTools.lowercased()) else {
                    throw ValidationError("--pin-tools expects off, warn or block")
                }
                entry.governance.pinTools = pins
            }
            mode = .single(entry)
        }
        if let authConfig {
            guard case .single(var entry) = mode else {
                throw ValidationError(
                    "--auth-config is for single-server mode; in a config file, write 'auth' at its top")
            }
            do {
                let loaded = try ConfigLoader.loadAuth(path: authConfig)
                for warning in loaded.warnings { logger.warning("\(warning)") }
                if case .stdio = entry.transport,
                    loaded.access.forwardTokenAudience != nil || !loaded.access.forwardHeaders.isEmpty
                {
                    throw ValidationError("\(authConfig): forwardHeaders and forwardToken are only for remote servers")
                }
                settings.auth = loaded.auth
                entry.access = loaded.access
                mode = .single(entry)
            } catch let error as ConfigError {
                logger.critical("\(error)")
                throw ExitCode(1)
            }
        }
        switch mode {
        case .single(let entry):
            logger.info(
                "starting mcpo \(ProxyVersion.current): \(entry.transport.kindName) server '\(entry.name)', API key \(settings.apiKeys.isEmpty ? "not provided" : "provided"), CORS \(settings.corsAllowOrigins.joined(separator: " "))"
            )
        case .config(let path, let hotReload):
            logger.info(
                "starting mcpo \(ProxyVersion.current): config \(path)\(hotReload ? " (hot reload)" : ""), path prefix \(settings.pathPrefix), API key \(settings.apiKeys.isEmpty ? "not provided" : "provided")"
            )
        }
        do {
            let proxy = try ProxyServer(settings: settings, mode: mode, logger: logger)
            try await proxy.run()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }

    // MARK: - From flags to settings

    func proxySettings() throws -> ProxySettings {
        var settings = ProxySettings()
        if case .swiftPool = Self.executor.withLock({ $0 }) { settings.requestTasksOnConnectionLoops = false }
        settings.host = host
        settings.port = port
        settings.apiKeys = apiKeys.filter { !$0.isEmpty }
        settings.strictAuth = strictAuth
        settings.corsAllowOrigins = corsAllowOrigins.isEmpty ? ["*"] : corsAllowOrigins
        settings.title = name
        settings.description = description
        settings.version = documentVersion
        settings.rootPath = try normalizedRootPath(rootPath)
        settings.pathPrefix = pathPrefix
        settings.docsAssetsDirectory = docsAssets ?? ProcessInfo.processInfo.environment["MCPO_DOCS_ASSETS"]
        settings.maxRequestBodyBytes = maxBodySize
        settings.startupTimeoutSeconds = startupTimeout
        settings.shutdownGraceSeconds = shutdownTimeout
        guard maxTimeout > 0, maxConcurrentCalls > 0, maxQueuedCalls >= 0, maxResponseSize > 0 else {
            throw ValidationError(
                "--max-timeout, --max-concurrent-calls and --max-response-size must be positive, --max-queued-calls not negative"
            )
        }
        settings.maxCallTimeoutSeconds = maxTimeout
        settings.maxConcurrentCalls = maxConcurrentCalls
        settings.maxQueuedCalls = maxQueuedCalls
        settings.maxResponseBytes = maxResponseSize
        if let inlineBinaryLimit {
            guard inlineBinaryLimit > 0 else {
                throw ValidationError("--inline-binary-limit must be a positive number of bytes")
            }
            settings.inlineBinaryLimit = inlineBinaryLimit
        }
        if let elicitationTimeout {
            guard elicitationTimeout > 0, elicitationTimeout.isFinite else {
                throw ValidationError("--elicitation-timeout must be more than 0 seconds")
            }
            settings.elicitationTimeoutSeconds = elicitationTimeout
        }
        if let fileTTL {
            guard fileTTL > 0, fileTTL.isFinite else { throw ValidationError("--file-ttl must be more than 0 seconds") }
            settings.fileTTLSeconds = fileTTL
        }
        if let timeout = try timeout ?? ProcessInfo.processInfo.environment["MCPO_TIMEOUT"].map(parseSeconds) {
            guard timeout > 0 else { throw ValidationError("--timeout must be more than 0 seconds") }
            settings.callTimeoutSeconds = timeout
        }
        guard [clientHeaderTimeout, clientBodyTimeout, keepAliveTimeout].allSatisfy({ $0 > 0 && $0.isFinite }),
            maxConnections > 0
        else {
            throw ValidationError(
                "--client-header-timeout, --client-body-timeout, --keep-alive-timeout and --max-connections must be positive"
            )
        }
        settings.clientBounds.headSeconds = clientHeaderTimeout
        settings.clientBounds.bodySeconds = clientBodyTimeout
        settings.clientBounds.idleSeconds = keepAliveTimeout
        settings.clientBounds.maxConnections = maxConnections
        switch (sslCertfile, sslKeyfile) {
        case (let cert?, let key?): settings.tls = TLSFiles(certificateFile: cert, keyFile: key)
        case (nil, nil): break
        default: throw ValidationError("--ssl-certfile and --ssl-keyfile go together")
        }
        return settings
    }

    func proxyMode(logger: Logger) throws -> ProxyMode {
        if let config {
            if !serverCommand.isEmpty {
                logger.warning("--config is given: the command after '--' is ignored")
            }
            return .config(path: config, hotReload: hotReload)
        }
        if hotReload { throw ValidationError("--hot-reload needs --config <file>") }
        return .single(try serverEntry(logger: logger))
    }

    func serverEntry(logger: Logger) throws -> ServerEntry {
        guard !serverCommand.isEmpty else {
            throw ValidationError(
                "Give the MCP server command after '--' (or --config <file>), e.g. mcpo --port 8000 -- uvx mcp-server-time"
            )
        }
        guard let type = TransportName.normalized(serverType) else {
            throw ValidationError(
                "Unknown --server-type '\(serverType)': use stdio, sse or streamable-http (also streamable_http, streamablehttp)"
            )
        }
        if type == "stdio" {
            if header != nil { logger.warning("--header applies to remote servers only; ignored for stdio") }
            let command = StdioCommand(command: serverCommand[0], arguments: Array(serverCommand.dropFirst()))
            // The command's last path component (`/usr/bin/uvx` → `uvx`), as mcpo names the server.
            let name = serverCommand[0].split(separator: "/").last.map(String.init) ?? serverCommand[0]
            return ServerEntry(name: name, transport: .stdio(command))
        }
        let url = serverCommand[0]
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", parsed.host != nil
        else {
            throw ValidationError("--server-type \(type) expects an http(s) URL after '--', got '\(url)'")
        }
        if serverCommand.count > 1 {
            logger.warning(
                "only the URL after '--' is used; ignored: \(serverCommand.dropFirst().joined(separator: " "))")
        }
        let endpoint = RemoteEndpoint(url: url, headers: try parsedHeaders())
        let name = parsed.host ?? "remote"
        return ServerEntry(name: name, transport: type == "sse" ? .sse(endpoint) : .streamableHTTP(endpoint))
    }

    /// `--header` is a JSON object of header names to string values, as in mcpo.
    private func parsedHeaders() throws -> [(name: String, value: String)] {
        guard let header else { return [] }
        guard case .object(let object) = try? JSON.parse(header) else {
            throw ValidationError("--header expects a JSON object such as '{\"Authorization\": \"Bearer x\"}'")
        }
        return try object.map { name, value in
            guard let text = value.stringValue else {
                throw ValidationError("--header: the value of '\(name)' must be a string")
            }
            return (name: name, value: text)
        }
    }

    private func normalizedRootPath(_ path: String) throws -> String {
        guard !path.isEmpty, path != "/" else { return "" }
        var result = path.hasPrefix("/") ? path : "/" + path
        while result.hasSuffix("/") { result.removeLast() }
        return result
    }

    private func parseSeconds(_ text: String) throws -> Double {
        guard let value = Double(text) else { throw ValidationError("'\(text)' is not a number of seconds") }
        return value
    }

    // MARK: - Environment and logging

    /// `--env-path` first (without overriding what is set), then `-e` values, which win.
    private func applyEnvironment() throws {
        if let envPath {
            for (key, value) in try DotEnvFile.parse(path: envPath) where getenv(key) == nil {
                setenv(key, value, 1)
            }
        }
        for assignment in env {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ValidationError("--env expects KEY=VALUE, got '\(assignment)'")
            }
            setenv(String(assignment[..<equals]), String(assignment[assignment.index(after: equals)...]), 1)
        }
    }

    /// `--audit` with no value (the next argument is another flag, `--`, or nothing) means the default store.
    static func withAuditDefault(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            result.append(argument)
            if argument == "--" {
                result += arguments[(index + 1)...]
                break
            }
            if argument == "--audit", index + 1 == arguments.count || arguments[index + 1].hasPrefix("-") {
                result.append("default")
            }
            index += 1
        }
        return result
    }

    static func parseLogFormat(_ text: String) throws -> LogFormat {
        guard let format = LogFormat(rawValue: text.lowercased()) else {
            throw ValidationError("--log-format expects text or json")
        }
        return format
    }

    private func makeLogger() throws -> Logger {
        let requested = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"
        let level = LogLevelName.parse(requested)
        LoggingSystem.bootstrap { label in ProxyLogHandler(label: label, level: level ?? .info) }
        let logger = Logger(label: "mcpo")
        if level == nil {
            logger.warning("unknown log level '\(requested)'; using info")
        }
        return logger
    }
}

/// Python's level names, as mcpo takes them.
enum LogLevelName {
    static func parse(_ text: String) -> Logger.Level? {
        switch text.lowercased() {
        case "trace": .trace
        case "debug": .debug
        case "info": .info
        case "notice": .notice
        case "warning", "warn": .warning
        case "error": .error
        case "critical", "fatal": .critical
        default: nil
        }
    }
}
