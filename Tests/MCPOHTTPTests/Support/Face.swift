import Foundation
import JSONValue
import Logging
import MCPBridge
import MCPClient
import MCPOConfig
import NIOCore
import NIOHTTP1
import NIOPosix

@testable import MCPOHTTP

/// The HTTP face in process: one server mounted (at the root, as `mcpo -- <command>` mounts it) in front of a
/// `TestUpstream`, and requests answered by the same responder and call stages the proxy runs.
struct Face {
    let responder: ProxyResponder
    let server: MountedServer
    let routes: RouteTableStore

    init(
        upstream: any ToolUpstream, configure: (inout ProxySettings) -> Void = { _ in }, prefix: String = "",
        gate: CallGate = CallGate(limit: 128, queueLimit: 1024),
        services: GovernanceServices = GovernanceServices(metrics: ProxyMetrics(), replica: "face")
    ) {
        var settings = ProxySettings()
        configure(&settings)
        var logger = Logger(label: "face-test")
        logger.logLevel = .critical
        let address = PublicAddress(rootPath: settings.rootPath, defaultScheme: "http")
        let credentials = CredentialCheckStore(
            ProxyServer.credentialCheck(settings.auth, settings: settings, logger: logger))
        let pipeline = ToolCallPipeline(
            .init(
                credentials: credentials, address: address, maxTimeout: settings.maxCallTimeoutSeconds, logger: logger,
                services: services))
        let server = MountedServer(upstream: upstream, prefix: prefix, gate: gate, pipeline: pipeline)
        var builder = RouteTableBuilder(
            settings: settings, assets: .cdn,
            credentialsRequired: credentials.check.authenticator.requiresCredentials, services: services)
        builder.mount(server, defaultTimeout: settings.callTimeoutSeconds, flagsOverrideInfo: prefix.isEmpty)
        builder.addHealth(readiness: { HTTPAnswer(status: 200, body: ["ready": true]) })
        builder.addGovernance()
        let routes = RouteTableStore(builder.build())
        self.responder = ProxyResponder(
            routes: routes, credentials: credentials, cors: CORSPolicy(allowOrigins: settings.corsAllowOrigins),
            address: address, maxBodyBytes: settings.maxRequestBodyBytes, services: services,
            readings: { [server] in
                [
                    ProxyMetrics.ServerReading(
                        server: server.name, up: true, callsInFlight: server.callsInFlight,
                        callsQueued: server.gate.queued, restarts: 0)
                ]
            })
        self.server = server
        self.services = services
        self.routes = routes
        self.credentials = credentials
        self.address = address
    }

    let credentials: CredentialCheckStore
    let address: PublicAddress
    let services: GovernanceServices

    /// Lets go of what the credential check holds (the JWKS client of configured issuers).
    func shutdown() async {
        await credentials.check.authenticator.shutdown()
    }

    /// A connection for requests made in the test; `clientLeft` fires when the test says the client went away.
    static func connection(clientLeft: CallCancellation = CallCancellation()) -> ClientConnection {
        ClientConnection(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), clientLeft: clientLeft)
    }

    func request(
        _ method: HTTPMethod, _ target: String, headers: [(String, String)] = [], body: String? = nil,
        connection: ClientConnection = Face.connection()
    ) async -> ReceivedAnswer {
        let request = ProxyRequest(
            method: method, target: target, headers: HTTPHeaders(headers), body: ByteBuffer(string: body ?? ""),
            connection: connection)
        return await ReceivedAnswer(responder.respond(to: request))
    }

    func post(_ target: String, _ body: JSON, headers: [(String, String)] = []) async -> ReceivedAnswer {
        await request(.POST, target, headers: headers, body: body.text)
    }
}

/// An answer as a client reads it: status, headers, and the whole body (a stream read to its end).
struct ReceivedAnswer: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: String

    init(_ response: ProxyResponse) async {
        status = Int(response.status.code)
        headers = response.headers
        switch response.body {
        case .bytes(let buffer):
            body = String(buffer: buffer)
        case .stream(let chunks):
            var text = ""
            for await chunk in chunks { text += String(buffer: chunk) }
            body = text
        }
    }

    var json: JSON? { try? JSON.parse(Array(body.utf8)) }

    func header(_ name: String) -> String? { headers.first(name: name) }

    /// The events of a `text/event-stream` body: (event name, data as JSON).
    var events: [(name: String, data: JSON?)] {
        body.components(separatedBy: "\n\n").compactMap { block in
            var name: String?
            var data: String?
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            guard let name else { return nil }
            return (name, data.flatMap { try? JSON.parse(Array($0.utf8)) })
        }
    }
}
