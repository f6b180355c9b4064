import JSONValue
import Logging

/// Who the proxy says it is in `initialize`.
public struct ClientIdentity: Sendable {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// What the server said about itself in the handshake.
public struct ServerIdentity: Sendable, Equatable {
    public var name: String
    public var title: String?
    public var version: String
    public var instructions: String?
    public var protocolVersion: String
    public var capabilities: JSON
}

/// One initialized MCP session over one connection.
public final class MCPSession: Sendable {
    /// Newest first; the first is what we offer.
    public static let supportedProtocolVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    /// A server that pages forever is cut off here.
    static let maxToolPages = 1000

    public let connection: RPCConnection
    public let server: ServerIdentity

    private init(connection: RPCConnection, server: ServerIdentity) {
        self.connection = connection
        self.server = server
    }

    /// Runs the stateful handshake: `initialize`, version check, `notifications/initialized`.
    static func handshake(
        over connection: RPCConnection, client: ClientIdentity, timeout: Double
    ) async throws(MCPClientError) -> MCPSession {
        let offered = supportedProtocolVersions[0]
        let result = try await connection.request(
            "initialize",
            params: [
                "protocolVersion": .string(offered),
                "capabilities": [:],
                "clientInfo": ["name": .string(client.name), "version": .string(client.version)],
            ],
            timeout: timeout)
        guard let version = result["protocolVersion"]?.stringValue else {
            throw .protocolViolation("the initialize result has no protocolVersion")
        }
        guard supportedProtocolVersions.contains(version) else {
            throw .protocolViolation(
                "the server chose protocol version \(version); the proxy speaks "
                    + supportedProtocolVersions.joined(separator: ", "))
        }
        let info = result["serverInfo"]
        let server = ServerIdentity(
            name: info?["name"]?.stringValue ?? "MCP server",
            title: info?["title"]?.stringValue,
            version: info?["version"]?.stringValue ?? "1.0",
            instructions: result["instructions"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            protocolVersion: version,
            capabilities: result["capabilities"] ?? [:])
        connection.notify("notifications/initialized", params: nil)
        return MCPSession(connection: connection, server: server)
    }

    /// Every tool, following `nextCursor` to the end.
    public func listTools(timeout: Double) async throws(MCPClientError) -> [JSON] {
        var tools: [JSON] = []
        var cursor: String?
        var seenCursors: Set<String> = []
        for _ in 0..<Self.maxToolPages {
            let params: JSON? = cursor.map { ["cursor": .string($0)] }
            let page = try await connection.request("tools/list", params: params, timeout: timeout)
            guard let pageTools = page["tools"]?.arrayValue else {
                throw .protocolViolation("the tools/list result has no tools array")
            }
            tools.append(contentsOf: pageTools)
            guard let next = page["nextCursor"]?.stringValue, !next.isEmpty else { return tools }
            guard seenCursors.insert(next).inserted else {
                throw .protocolViolation("tools/list returned the cursor '\(next)' twice")
            }
            cursor = next
        }
        throw .protocolViolation("tools/list returned more than \(Self.maxToolPages) pages")
    }

    /// Calls a tool and returns its `CallToolResult` as the server wrote it.
    public func callTool(name: String, arguments: JSON, timeout: Double) async throws(MCPClientError) -> JSON {
        try await connection.request(
            "tools/call", params: ["name": .string(name), "arguments": arguments], timeout: timeout)
    }
}
