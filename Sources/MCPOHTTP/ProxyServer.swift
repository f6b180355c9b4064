import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import MCPClient
import MCPOConfig
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The proxy: upstream servers behind an HTTP face, from start to graceful stop.
public final class ProxyServer: Sendable {
    public static let clientIdentity = ClientIdentity(name: "swift-mcpo", version: ProxyVersion.current)

    private let settings: ProxySettings
    private let server: UpstreamServer
    private let routes = RouteTableStore()
    private let assets: DocsAssets
    private let logger: Logger

    /// Single-server mode: one upstream server whose tools are served at the root.
    public init(settings: ProxySettings, entry: ServerEntry, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        self.assets = try settings.docsAssetsDirectory.map(DocsAssets.load(from:)) ?? .cdn
        self.server = UpstreamServer(
            entry: entry, client: Self.clientIdentity, startupTimeout: settings.startupTimeoutSeconds,
            logger: logger)
    }

    /// Connects to the server, then serves HTTP until SIGINT or SIGTERM. Throws when either cannot start.
    public func run() async throws {
        let snapshot: UpstreamSnapshot
        do {
            snapshot = try await server.start()
        } catch {
            await server.shutdown()
            throw ProxyStartupError(description: "cannot start MCP server '\(server.name)': \(error)")
        }
        install(snapshot)
        server.observe { [weak self] snapshot in self?.install(snapshot) }

        let responder = ProxyResponder(
            routes: routes,
            authenticator: APIKeyAuthenticator(keys: settings.apiKeys, strict: settings.strictAuth),
            cors: CORSPolicy(allowOrigins: settings.corsAllowOrigins),
            rootPath: settings.rootPath,
            maxBodyBytes: settings.maxRequestBodyBytes,
            logger: logger)
        let scheme = settings.tls == nil ? "http" : "https"
        let logger = self.logger
        let app = Application(
            responder: responder,
            server: try httpServerBuilder(),
            configuration: ApplicationConfiguration(
                address: .hostname(settings.host, port: settings.port), serverName: "swift-mcpo"),
            onServerRunning: { [settings] channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.info("mcpo is serving on \(scheme)://\(settings.host):\(port)")
            },
            logger: quietHTTPLogger())
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: UpstreamShutdown(servers: [server])),
                .init(service: app),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: quietHTTPLogger())
        groupConfiguration.maximumGracefulShutdownDuration = Duration.milliseconds(
            Int64(settings.shutdownGraceSeconds * 1000))
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            await server.shutdown()
            throw ProxyStartupError(description: "the HTTP server stopped: \(error)")
        }
        await server.shutdown()
        logger.info("mcpo stopped")
    }

    private func install(_ snapshot: UpstreamSnapshot) {
        var builder = RouteTableBuilder(settings: settings, assets: assets)
        let problems = builder.mount(
            server: server, snapshot: snapshot, prefix: "",
            callTimeout: server.entry.callTimeoutSeconds ?? settings.callTimeoutSeconds)
        builder.addAssets()
        for problem in problems { logger.warning("\(problem)") }
        routes.replace(with: builder.build())
    }

    private func httpServerBuilder() throws -> HTTPServerBuilder {
        guard let tls = settings.tls else { return .http1() }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(key))
            return try .tls(.http1(), tlsConfiguration: configuration)
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
    let servers: [UpstreamServer]

    func run() async throws {
        try? await gracefulShutdown()
        await withTaskGroup(of: Void.self) { group in
            for server in servers {
                group.addTask { await server.shutdown() }
            }
        }
    }
}
