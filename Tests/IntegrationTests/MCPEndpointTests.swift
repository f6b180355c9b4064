import Foundation
import JSONValue
import TestSupport
import Testing

/// A client of the proxy's MCP endpoint speaking JSON-RPC over HTTP itself: to see the wire (statuses, headers,
/// errors) where the SDK clients would hide it.
struct MCPWireClient {
    let proxy: ProxyProcess
    let path: String
    var headers: [(String, String)]
    var session: String?

    init(_ proxy: ProxyProcess, _ path: String, headers: [(String, String)] = []) {
        self.proxy = proxy
        self.path = path
        self.headers = headers
    }

    var allHeaders: [(String, String)] {
        headers + [("Accept", "application/json, text/event-stream")] + (session.map { [("Mcp-Session-Id", $0)] } ?? [])
    }

    func post(_ message: JSON) async throws -> HTTPReply {
        try await TestHTTP.post(proxy, path, message, headers: allHeaders)
    }

    func request(_ method: String, _ params: JSON = [:], id: Int = 1) async throws -> HTTPReply {
        try await post(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params])
    }

    /// `initialize` and `notifications/initialized`; the session is kept.
    mutating func initialize(version: String = "2025-06-18", capabilities: JSON = [:]) async throws -> HTTPReply {
        let reply = try await request(
            "initialize",
            [
                "protocolVersion": .string(version), "capabilities": capabilities,
                "clientInfo": ["name": "t", "version": "1"],
            ])
        session = reply.header("mcp-session-id")
        _ = try await post(["jsonrpc": "2.0", "method": "notifications/initialized"])
        return reply
    }

    /// The result of a tool call, or its JSON-RPC error.
    func call(_ tool: String, _ arguments: JSON, id: Int = 2) async throws -> JSON? {
        let reply = try await request("tools/call", ["name": .string(tool), "arguments": arguments], id: id)
        return reply.json?["result"] ?? reply.json?["error"]
    }
}

@Suite("the proxy as an MCP server")
struct MCPEndpointTests {
    static func bearer(_ key: String) -> [(String, String)] { [("Authorization", "Bearer " + key)] }

    @Test(
        "keys, scopes, confirmation, rate limits and the audit log hold for MCP clients; sessions are the caller's own")
    func governance() async throws {
        let folder = try AccountabilityTests.Folder()
        try folder.write(
            """
            {
              "audit": {"store": "sqlite://\(folder.database)"},
              "auth": {"apiKeys": [{"name": "ops", "key": "ops-key", "scopes": ["*"]},
                                   {"name": "reader", "key": "reader-key", "scopes": ["kitchen:read"]}]},
              "mcpServers": {
                "kitchen": {"command": "\(TestPaths.exampleServer)",
                            "toolScopes": {"calculate": ["kitchen:write"], "*": ["kitchen:read"]},
                            "toolRisk": {"echo": "high"}, "confirm": "high",
                            "rateLimit": {"tools": {"word_stats": "1/minute"}}}
              }
            }
            """)
        try await withProxy(["--config", folder.config]) { proxy in
            var anonymous = MCPWireClient(proxy, "/kitchen/mcp")
            let refused = try await anonymous.initialize()
            #expect(refused.status == 401, "\(refused.text)")
            #expect(refused.header("www-authenticate")?.hasPrefix("Bearer") == true)

            var reader = MCPWireClient(proxy, "/kitchen/mcp", headers: Self.bearer("reader-key"))
            let initialized = try await reader.initialize()
            #expect(initialized.status == 200, "\(initialized.text)")
            #expect(initialized.json?["result"]?["protocolVersion"] == "2025-06-18")
            let session = try #require(reader.session)
            let listed = try await reader.request("tools/list").json?["result"]?["tools"]?.arrayValue ?? []
            let names = listed.compactMap { $0["name"]?.stringValue }
            #expect(names.contains("echo") && !names.contains("calculate"), "\(names)")
            let echo = try #require(listed.first { $0["name"] == "echo" })
            #expect(echo["inputSchema"]?["properties"]?["confirm"]?["const"] == true)
            #expect(echo["inputSchema"]?["required"]?.arrayValue?.contains("confirm") == true)
            let hidden = try await reader.call("calculate", ["a": 1, "b": 2, "operation": "add"])
            #expect(
                hidden?["code"] == -32602,
                "a tool outside the caller's scopes is unknown to it: \(String(describing: hidden))")

            var ops = MCPWireClient(proxy, "/kitchen/mcp", headers: Self.bearer("ops-key"))
            _ = try await ops.initialize()
            let unconfirmed = try await ops.call("echo", ["text": "hi"])
            #expect(unconfirmed?["isError"] == true, "\(String(describing: unconfirmed))")
            #expect(unconfirmed?["content"]?[0]?["text"]?.stringValue?.contains("\"confirm\": true") == true)
            let confirmed = try await ops.call("echo", ["text": "hi", "confirm": true])
            #expect(confirmed?["isError"] != true, "\(String(describing: confirmed))")
            #expect(confirmed?["content"]?[0]?["text"] == "hi")
            let calculated = try await ops.call("calculate", ["a": 2, "b": 3, "operation": "add"])
            #expect(calculated?["content"]?[0]?["text"] == #"{"result":5}"#, "\(String(describing: calculated))")
            let invalid = try await ops.call("calculate", ["a": 2, "b": 3, "operation": "nope"])
            #expect(invalid?["isError"] == true, "invalid arguments are a tool error the model can read")
            _ = try await ops.call("word_stats", ["text": "a b"])
            let limited = try await ops.call("word_stats", ["text": "a b"])
            #expect(limited?["data"]?["status"] == 429, "\(String(describing: limited))")

            // A session is its caller's: another key, or the session after DELETE, finds nothing.
            var thief = MCPWireClient(proxy, "/kitchen/mcp", headers: Self.bearer("ops-key"))
            thief.session = session
            #expect(try await thief.request("tools/list").status == 404)
            #expect(try await reader.request("tools/list").status == 200)
            let ended = try await TestHTTP.request(
                .DELETE, proxy.baseURL + "/kitchen/mcp", headers: reader.allHeaders)
            #expect(ended.status == 200)
            #expect(try await reader.request("tools/list").status == 404)
            let noSession = try await TestHTTP.get(
                proxy, "/kitchen/mcp", headers: Self.bearer("ops-key") + [("Accept", "text/event-stream")])
            #expect(noSession.status == 405)
            let stray = try await MCPWireClient(proxy, "/kitchen/mcp", headers: Self.bearer("ops-key")).request(
                "tools/list")
            #expect(stray.status == 400, "a request without a session nor a 2026-07-28 version: \(stray.text)")

            // Every call is recorded, whatever became of it.
            var outcomes: [String] = []
            let recorded = try await pollUntil(within: .seconds(60)) {
                let records =
                    try await TestHTTP.get(proxy, "/audit?limit=100", headers: Self.bearer("ops-key")).json?["records"]?
                    .arrayValue ?? []
                outcomes = records.compactMap { $0["outcome"]?.stringValue }
                return outcomes.count >= 6
            }
            #expect(recorded, "\(outcomes)")
            for outcome in ["confirmation_required", "ok", "invalid_arguments", "rate_limited"] {
                #expect(outcomes.contains(outcome), "\(outcome) not in \(outcomes)")
            }
        }
    }
}
