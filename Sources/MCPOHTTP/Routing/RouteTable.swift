import JSONValue
import MCPBridge
import MCPClient
import NIOCore
import Synchronization

/// What one request path leads to.
enum Endpoint: Sendable {
    case tool(ToolEndpoint)
    case page(StaticPage)
    /// An OpenAPI document: whole, or for a caller with a credential only the tools it may call.
    case document(OpenAPIDocumentPage, DocumentVersion)
    /// An answer computed per request (`/healthz`, `/readyz`); public like the documents.
    case status(@Sendable () -> HTTPAnswer)
    /// `/oauth/<server>/status|callback|authorize`.
    case oauth(OAuthRoute)
    /// `/metrics`, `/audit`, `/audit/stats`, `/pins/<server>/<tool>/approve`.
    case governance(GovernanceRoute)
    /// `/mcp` and `/<server>/mcp`: the proxy as an MCP server (and its 2024-11-05 HTTP+SSE transport's paths).
    case mcp(MCPMount, MCPTransport)
}

/// A tool route: its translated operation and the server that runs it (a reference: every call passes it on).
final class ToolEndpoint: Sendable {
    let operation: ToolOperation
    let server: MountedServer
    let callTimeout: Double
    /// The tool's call counter and duration histogram, when metrics are kept.
    let metrics: ToolMetrics?
    /// `pinTools: block` and the listed definition differs from the approved one: the two hashes.
    let blockedPin: (approved: String, current: String)?
    /// `pinTools: block` and the pins could not be read from the store: calls are refused until they can.
    let pinsUnreadable: Bool
    /// `→ <server>/<tool>`, the middle of the call's access log line, made once.
    let logTarget: String

    init(
        operation: ToolOperation, server: MountedServer, callTimeout: Double, metrics: ToolMetrics? = nil,
        blockedPin: (approved: String, current: String)? = nil, pinsUnreadable: Bool = false
    ) {
        self.operation = operation
        self.server = server
        self.callTimeout = callTimeout
        self.metrics = metrics
        self.blockedPin = blockedPin
        self.pinsUnreadable = pinsUnreadable
        self.logTarget = "→ \(server.name)/\(operation.tool.name)"
    }
}

/// A document or page, served as is to GET and HEAD.
struct StaticPage: Sendable {
    let body: ByteBuffer
    let contentType: String

    init(bytes: [UInt8], contentType: String) {
        self.body = ByteBuffer(bytes: bytes)
        self.contentType = contentType
    }

    init(html: String) {
        self.init(bytes: Array(html.utf8), contentType: "text/html; charset=utf-8")
    }
}

/// Every route the proxy answers at one moment, built once and never changed.
///
/// Tools change (list_changed, reconnects, reloads); a new table is built and swapped in whole, so a
/// request sees either the old routes or the new ones, never a mix.
final class RouteTable: Sendable {
    let endpoints: [String: Endpoint]
    /// Mount points of servers that are not connected: any other path under them answers 503 with the reason.
    let unavailableMounts: [String: MountedServer]
    /// Every scope the servers' `toolScopes` name.
    let scopes: [String]

    init(endpoints: [String: Endpoint], unavailableMounts: [String: MountedServer] = [:], scopes: [String] = []) {
        self.endpoints = endpoints
        self.unavailableMounts = unavailableMounts
        self.scopes = scopes
    }

    static let empty = RouteTable(endpoints: [:])

    /// The server not connected whose mount point holds `path`, longest mount first.
    func unavailableServer(containing path: String) -> MountedServer? {
        guard !unavailableMounts.isEmpty else { return nil }
        var candidate = path
        while true {
            if let server = unavailableMounts[candidate] { return server }
            guard let slash = candidate.lastIndex(of: "/") else { return nil }
            candidate = String(candidate[..<slash])
        }
    }
}

/// Holds the current table. Reading takes a lock for the time of one pointer copy; no lock is ever
/// held across an await.
final class RouteTableStore: Sendable {
    private let current: Mutex<RouteTable>

    init(_ table: RouteTable = .empty) {
        self.current = Mutex(table)
    }

    var table: RouteTable { current.withLock { $0 } }

    func replace(with table: RouteTable) {
        current.withLock { $0 = table }
    }
}
