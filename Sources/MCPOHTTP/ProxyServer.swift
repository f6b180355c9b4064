import Foundation
import HummingbirdCore
import HummingbirdTLS
import Logging
import MCPClient
import MCPOAudit
import MCPOAuth
import MCPOConfig
import MCPOIdentity
import MCPOSystem
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// What the proxy serves.
public enum ProxyMode: Sendable {
    /// One server at the root (`mcpo -- <command>` or `--server-type … -- <url>`).
    case single(ServerEntry)
    /// Every server of a config file under `/<prefix><name>/`; with `hotReload`, edits are followed.
    case config(path: String, hotReload: Bool)
}

/// The proxy: upstream servers behind an HTTP face, from start to graceful stop.
public final class ProxyServer: Sendable {
    public static let clientIdentity = ClientIdentity(name: "swift-mcpo", version: ProxyVersion.current)

    private let settings: ProxySettings
    private let mode: ProxyMode
    private let fleet: ServerFleet
    private let credentials: CredentialCheckStore
    private let address: PublicAddress
    private let services: GovernanceServices
    private let store = Mutex<(any GovernanceStore)?>(nil)
    /// Large binaries of answers, linked instead of inlined.
    private let files: FileStore
    /// The questions servers ask callers, waiting for their answers.
    private let continuations: Continuations
    private let logger: Logger

    public init(settings: ProxySettings, mode: ProxyMode, logger: Logger) throws {
        self.settings = settings
        self.mode = mode
        self.logger = logger
        let assets = try settings.docsAssetsDirectory.map(DocsAssets.load(from:)) ?? .cdn
        let layout: ServerFleet.Layout
        switch mode {
        case .single: layout = .single
        case .config: layout = .config(pathPrefix: Self.normalizedPathPrefix(settings.pathPrefix))
        }
        address = PublicAddress(rootPath: settings.rootPath, defaultScheme: settings.tls == nil ? "http" : "https")
        credentials = CredentialCheckStore(Self.credentialCheck(settings.auth, settings: settings, logger: logger))
        services = GovernanceServices(metrics: settings.metrics ? ProxyMetrics() : nil)
        continuations = Continuations(timeout: .milliseconds(Int64(settings.elicitationTimeoutSeconds * 1000)))
        files = FileStore(
            settings: FileStore.Settings(
                inlineLimit: settings.inlineBinaryLimit, ttl: .milliseconds(Int64(settings.fileTTLSeconds * 1000))),
            logger: logger)
        let pipeline = ToolCallPipeline(
            .init(
                credentials: credentials, address: address, maxTimeout: settings.maxCallTimeoutSeconds, logger: logger,
                services: services, structuredLogs: settings.logFormat == .json, files: files,
                continuations: continuations))
        self.fleet = ServerFleet(settings: settings, assets: assets, layout: layout, pipeline: pipeline, logger: logger)
    }

    /// Who may call: the keys of `--api-key` (named `cli`, every scope) and what `auth` configures.
    static func credentialCheck(_ auth: AuthConfig?, settings: ProxySettings, logger: Logger) -> CredentialCheck {
        var config = auth ?? AuthConfig()
        config.apiKeys = AuthConfig.commandLineKeys(settings.apiKeys) + config.apiKeys
        return CredentialCheck(
            authenticator: CallerAuthenticator(config: config, strict: settings.strictAuth, logger: logger),
            strict: settings.strictAuth, rfc6750: auth?.requiresCredentials == true)
    }

    /// Puts `auth` in force (at start in config mode, and on reloads that change it).
    private func useAuth(_ auth: AuthConfig?) async {
        if let auth { logger.info("\(Self.summary(of: auth))") }
        let check = Self.credentialCheck(auth, settings: settings, logger: logger)
        check.authenticator.start()
        let previous = credentials.replace(with: check)
        fleet.rebuildRoutes()
        await previous.authenticator.shutdown()
    }

    /// What an `auth` object lets in, for the log (names only, never a secret).
    static func summary(of auth: AuthConfig) -> String {
        var parts: [String] = []
        let keys = auth.apiKeys.map(\.name)
        parts.append(
            "\(keys.count) API key\(keys.count == 1 ? "" : "s")\(keys.isEmpty ? "" : " (\(keys.joined(separator: ", ")))")"
        )
        let issuers = auth.jwtIssuers.map(\.issuer)
        parts.append(
            "\(issuers.count) JWT issuer\(issuers.count == 1 ? "" : "s")\(issuers.isEmpty ? "" : " (\(issuers.joined(separator: ", ")))")"
        )
        if auth.openWebUI != nil { parts.append("Open WebUI's user header") }
        return "auth: " + parts.joined(separator: ", ")
    }

    /// `tools` → `/tools/`, as mcpo normalises `--path-prefix`; the mount point is then `<prefix><name>`.
    static func normalizedPathPrefix(_ prefix: String) -> String {
        var result = prefix.hasPrefix("/") ? prefix : "/" + prefix
        if !result.hasSuffix("/") { result += "/" }
        return result
    }

    /// Starts the servers, then serves HTTP until SIGINT or SIGTERM. Throws when the proxy cannot start.
    public func run() async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: UpstreamShutdown(fleet: fleet))
        ]
        switch mode {
        case .single(let entry):
            try await openGovernanceStore(
                audit: settings.audit, shared: settings.store, poolSize: settings.storePoolSize,
                pinning: entry.governance.pinTools != .off, oauthServers: [entry], key: settings.storeKey)
            try await startSingle(entry)
        case .config(let path, let hotReload):
            let config: ProxyConfig
            do {
                config = try await CheckedConfig.read(path)
            } catch {
                throw ProxyStartupError(description: error.description)
            }
            for warning in config.warnings { logger.warning("\(warning)") }
            var fileSettings = files.settings
            if let limit = config.inlineBinaryLimit { fileSettings.inlineLimit = limit }
            if let seconds = config.fileTtlSeconds { fileSettings.ttl = .milliseconds(Int64(seconds * 1000)) }
            files.use(fileSettings)
            if let seconds = config.elicitationTimeoutSeconds {
                continuations.use(timeout: .milliseconds(Int64(seconds * 1000)))
            }
            try await openGovernanceStore(
                audit: config.audit ?? settings.audit, shared: config.store ?? settings.store,
                poolSize: config.storePoolSize ?? settings.storePoolSize,
                pinning: config.servers.contains { $0.governance.pinTools != .off }, oauthServers: config.servers,
                key: config.storeKey ?? settings.storeKey)
            await useAuth(config.auth)
            let reloader = ConfigReloader(fleet: fleet, logger: logger)
            let auth = config.auth
            await reloader.startAll(
                config, firstAttemptBound: .milliseconds(Int64(settings.startupTimeoutSeconds * 1000)))
            if config.servers.isEmpty { logger.warning("\(path) serves no MCP servers") }
            services.append(
                .init(
                    service: ConfigReloadService(
                        path: path, watchFile: hotReload, reloader: reloader, authInForce: AuthInForce(auth),
                        useAuth: { await self.useAuth($0) }, logger: logger)))
        }
        fleet.rebuildRoutes()
        defer { files.shutdown() }
        try await serveHTTP(extraServices: services)
    }

    /// Opens the store of the audit log and the pins (before any server is mounted: their calls' stages depend on
    /// it). A store that cannot be opened stops the start: its path or URL is wrong.
    private func openGovernanceStore(
        audit: AuditSettings?, shared: StoreLocation?, poolSize: Int, pinning: Bool, oauthServers: [ServerEntry],
        key: StoreKey?
    ) async throws {
        guard audit != nil || pinning || shared != nil else { return }
        let location = shared ?? audit?.store ?? StoreLocation.defaultLocation()
        let store: any GovernanceStore
        do {
            store = try await GovernanceStores.open(location, poolSize: poolSize, logger: logger)
        } catch {
            throw ProxyStartupError(description: "cannot open the store: \(error.description)")
        }
        logger.info("store: \(store.name)")
        services.use(storeName: store.name)
        if var audit {
            audit.store = location
            let writer = AuditWriter(store: store, settings: audit, logger: logger)
            writer.start()
            services.use(auditWriter: writer)
            logger.info(
                "audit log: \(store.name), \(audit.outputChars) characters of output, kept \(audit.retentionDays) days\(audit.required ? ", required" : "")"
            )
        }
        let pins = PinBook(store: store, services: services, logger: logger)
        await pins.start(onChange: { [fleet] in fleet.rebuildRoutes() })
        services.use(pins: pins)
        self.store.withLock { $0 = store }
        try await shareOAuthState(through: store, servers: oauthServers.filter { $0.oauth != nil }, key: key)
    }

    /// A store replicas share holds the OAuth state of every server, sealed with the store key (required then), and
    /// the session key multi-user servers sign with when no secret is configured.
    private func shareOAuthState(through store: any GovernanceStore, servers: [ServerEntry], key: StoreKey?)
        async throws
    {
        guard store.sharedByReplicas else { return }
        let names = servers.map(\.name).joined(separator: ", ")
        guard let key else {
            // Servers added by a reload then keep their OAuth state in files, each replica its own.
            guard !servers.isEmpty else { return }
            throw ProxyStartupError(
                description:
                    "the store \(store.name) holds the OAuth state of \(names) and needs the key that seals it: set "
                    + "MCPO_STORE_KEY (or storeKeyFile) to \(StoreKey.expected)")
        }
        guard let state = store.sharedOAuthState(key: key) else { return }
        var sessionKey: [UInt8]?
        do {
            sessionKey = try await state.sharedSecret(named: "session-key")
        } catch  where servers.contains(where: { $0.oauth?["multi_user"]?.boolValue == true }) {
            logger.warning(
                "the shared session key cannot be read (\(error)); sessions signed here hold on this replica only")
        } catch {
            logger.debug("the shared session key cannot be read yet: \(error)")
        }
        services.use(oauthState: state, sessionKey: sessionKey)
        logger.info("OAuth state\(names.isEmpty ? "" : " of \(names)") shared through \(store.name)")
    }

    private func startSingle(_ entry: ServerEntry) async throws {
        if let auth = settings.auth { logger.info("\(Self.summary(of: auth))") }
        credentials.check.authenticator.start()
        let server = fleet.makeServer(for: entry)
        fleet.setServers([server])
        if case .stdio = entry.transport {
            do {
                try await server.upstream.start()
            } catch {
                await server.shutdown()
                throw ProxyStartupError(description: "cannot start MCP server '\(entry.name)': \(error)")
            }
        }
        // Remote servers may be down now and up later: serve 503 meanwhile and keep trying.
        server.start()
    }

    private func serveHTTP(extraServices: [ServiceGroupConfiguration.ServiceConfiguration]) async throws {
        var responder = ProxyResponder(
            routes: fleet.routes, credentials: credentials, cors: CORSPolicy(allowOrigins: settings.corsAllowOrigins),
            address: address, maxBodyBytes: settings.maxRequestBodyBytes)
        responder.services = services
        responder.files = files
        responder.mcpSessions = fleet.mcpSessions
        responder.continuations = fleet.pipeline.settings.continuations
        responder.readings = { [fleet] in fleet.readings() }
        let scheme = address.defaultScheme
        let logger = self.logger
        let listening = fleet.listening
        let bounds = settings.clientBounds
        // Every client connection is a descriptor: the bound on connections must be what holds, not the shell's limit.
        let openFiles = OpenFileLimit.raise()
        if openFiles < bounds.maxConnections + 64 {
            logger.warning(
                "the process may open \(openFiles) files, fewer than --max-connections (\(bounds.maxConnections)) needs"
            )
        }
        let configuration = ServerConfiguration(
            address: .hostname(settings.host, port: settings.port), serverName: "swift-mcpo",
            availableConnectionsDelegate: ConnectionCap(maximum: bounds.maxConnections, logger: logger))
        // Hummingbird's server with connections of our own (ProxyHTTP1Channel), without `Application`: it adds a
        // task that formats the `Date` header through Foundation's calendar every second (ICU's time zone data,
        // half a MiB resident) and a request id in every request's logger, neither of which the proxy uses.
        let limits = ConnectionDeadlines.Limits(bounds)
        let channel = ProxyHTTP1Channel(
            responder: responder, limits: limits, sweepers: ConnectionSweepers(),
            executors: LoopTaskExecutors(enabled: settings.requestTasksOnConnectionLoops),
            report: BoundsReport(limits: limits, logger: logger), logger: quietHTTPLogger())
        let server = try httpServerBuilder(channel).buildServer(
            configuration: configuration,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: quietHTTPLogger(),
            responder: { _, _, _ in },  // unused: the connections answer through `responder`
            onServerRunning: { [settings] channel in
                let port = channel.localAddress?.port ?? settings.port
                listening.set(port: port)
                logger.info("mcpo is serving on \(scheme)://\(settings.host):\(port)")
            })
        var groupConfiguration = ServiceGroupConfiguration(
            services: extraServices + [.init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: quietHTTPLogger())
        groupConfiguration.maximumGracefulShutdownDuration = Duration.milliseconds(
            Int64(settings.shutdownGraceSeconds * 1000))
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            await fleet.shutdownAll()
            await closeGovernanceStore()
            throw ProxyStartupError(description: "the HTTP server stopped: \(error)")
        }
        await fleet.shutdownAll()
        await UpstreamServer.shutdownSharedHTTPClient()
        await fleet.shutdownOAuthClient()
        await credentials.check.authenticator.shutdown()
        await closeGovernanceStore()
        logger.info("mcpo stopped")
    }

    /// Writes the audit records still pending (the calls answered before SIGTERM), then closes the store.
    private func closeGovernanceStore() async {
        services.pins?.stop()
        if let writer = services.auditWriter {
            await writer.shutdown()
            logger.info("audit log: \(writer.writtenCount) records written, \(writer.failedCount) lost")
        }
        await store.withLock { $0.take() }?.close()
    }

    private func httpServerBuilder(_ channel: ProxyHTTP1Channel) throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder { _ in channel }
        guard let tls = settings.tls else { return http1 }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(key))
            return try .tls(http1, tlsConfiguration: configuration)
        } catch {
            throw ProxyStartupError(
                description: "cannot load TLS certificate '\(tls.certificateFile)' or key '\(tls.keyFile)': \(error)")
        }
    }

    /// Hummingbird's own request logging is per request at info; ours is enough.
    private func quietHTTPLogger() -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        return quiet
    }
}

public struct ProxyStartupError: Error, CustomStringConvertible {
    public let description: String
}

public enum ProxyVersion {
    public static let current = "0.1.0"
}

/// Stops the upstream servers after the HTTP server has drained (services stop in reverse order).
private struct UpstreamShutdown: Service {
    let fleet: ServerFleet

    func run() async throws {
        try? await gracefulShutdown()
        await fleet.shutdownAll()
    }
}

/// Reloads the config on SIGHUP always, and on file changes with `--hot-reload`, one reload at a time.
private struct ConfigReloadService: Service {
    let path: String
    let watchFile: Bool
    let reloader: ConfigReloader
    /// The `auth` in force, and how a changed one is put in force.
    let authInForce: AuthInForce
    let useAuth: @Sendable (AuthConfig?) async -> Void
    let logger: Logger

    func run() async throws {
        let watcher = watchFile ? ConfigWatcher(path: path) : nil
        defer { watcher?.stop() }
        let (triggers, trigger) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { trigger.yield("SIGHUP") }
                }
                if let watcher {
                    group.addTask {
                        for await _ in watcher.changes() { trigger.yield("file change") }
                    }
                }
                group.addTask {
                    for await reason in triggers { await reload(because: reason) }
                }
            }
        }
    }

    private func reload(because reason: String) async {
        let config: ProxyConfig
        do {
            config = try await CheckedConfig.read(path)
        } catch {
            logger.error("reload (\(reason)) rejected, still serving the previous config: \(error)")
            return
        }
        for warning in config.warnings { logger.warning("\(warning)") }
        if config.auth != authInForce.value.withLock({ $0 }) {
            await useAuth(config.auth)
            authInForce.value.withLock { $0 = config.auth }
            logger.info("reload (\(reason)): auth changed and is in force")
        }
        let summary = await reloader.apply(config)
        logger.info("reload (\(reason)): \(summary)")
    }
}

/// A config file read and checked whole (its `oauth` objects too), off the event loops.
enum CheckedConfig {
    /// Reads on NIO's thread pool: the event loops also run the proxy's tasks (`Sources/mcpo/main.swift`), and a
    /// file read must not hold one of them. The warnings of the OAuth check are added to the config's.
    static func read(_ path: String) async throws(ConfigError) -> ProxyConfig {
        let result = try? await NIOThreadPool.singleton.runIfActive { () -> Result<ProxyConfig, ConfigError> in
            Result { () throws(ConfigError) in
                var config = try ConfigLoader.load(path: path)
                config.warnings += try OAuthConfig.check(config, file: path)
                return config
            }
        }
        guard let result else {
            throw ConfigError(file: path, server: nil, key: nil, message: "the proxy is shutting down")
        }
        return try result.get()
    }
}

/// The `auth` of the config in force, compared on each reload.
private final class AuthInForce: Sendable {
    let value: Mutex<AuthConfig?>

    init(_ auth: AuthConfig?) {
        value = Mutex(auth)
    }
}
