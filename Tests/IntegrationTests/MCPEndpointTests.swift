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

    /// What the official Python client of `line` reports of `scenario` against `url`
    /// (Tests/Fixtures/python/mcp_endpoint_client.py).
    static func client(_ line: PythonLine, _ scenario: String, _ url: String, _ options: [String] = []) async throws
        -> JSON
    {
        let outcome = try await ProcessRunner.run(
            TestPaths.python(line), [TestPaths.fixture("mcp_endpoint_client.py"), scenario, url] + options,
            bound: .seconds(180))
        let report = outcome.output.split(separator: "\n").last { $0.hasPrefix("{") }
        guard outcome.status == 0, let report, let json = try? JSON.parse(Array(report.utf8)) else {
            Issue.record("\(scenario) at \(url) \(options): exit \(outcome.status)\n\(outcome.output)")
            return [:]
        }
        return json
    }

    static func names(_ report: JSON, _ member: String) -> [String] {
        report[member]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    @Test(
        "the official client of each line: list, call, read, prompts, progress and cancel through both endpoints",
        arguments: PythonLine.allCases)
    func sdkClients(line: PythonLine) async throws {
        let peer = try RemotePeer.sdk(line, transport: "streamable-http")
        try await withRemotePeer(peer) { peer in
            let folder = try AccountabilityTests.Folder()
            let server = line.fastMCPServer
            try folder.write(
                """
                {"mcpServers": {
                  "local": {"command": "\(server[0])", "args": ["\(server[1])"]},
                  "remote": {"type": "streamable-http", "url": "\(peer.url("/mcp"))"}}}
                """)
            try await withProxy(["--config", folder.config]) { proxy in
                #expect(
                    try await pollUntil(within: .seconds(120)) {
                        let servers = try await TestHTTP.get(proxy, "/readyz").json?["servers"]
                        return servers?["local"]?["state"] == "connected" && servers?["remote"]?["state"] == "connected"
                    })
                // 1.x takes a session (2025-11-25); 2.x probes server/discover and takes the stateless era.
                let version: JSON = line == .mcp1 ? "2025-11-25" : "2026-07-28"
                let listed = try await Self.client(line, "list", proxy.baseURL + "/mcp")
                #expect(listed["protocolVersion"] == version, "\(listed)")
                let tools = Self.names(listed, "tools")
                #expect(tools.contains("local_echo") && tools.contains("remote_echo"), "\(tools)")
                #expect(!tools.contains("echo"))
                #expect(listed["schemas"]?["remote_add"]?["required"] == ["a", "b"])
                let prompts = Self.names(listed, "prompts")
                #expect(prompts.contains("local_greet") && prompts.contains("remote_greet"), "\(prompts)")
                #expect(Self.names(listed, "resources").contains("fixture://notes/readme"))

                for (path, prefix) in [("/mcp", "remote_"), ("/local/mcp", "")] {
                    let called = try await Self.client(line, "call", proxy.baseURL + path, ["--prefix", prefix])
                    #expect(called["echo"]?["content"]?[0]?["text"] == "hi", "\(path): \(called)")
                    #expect(called["echo"]?["isError"] == false)
                    #expect(called["invalid"]?["isError"] == true, "\(path): \(called)")
                    #expect(called["unknown"]?["errorCode"] == -32602, "\(path): \(called)")
                    #expect(called["explode"]?["isError"] == true)
                    #expect(
                        called["prompt"]?["messages"]?[0]?["content"]?["text"] == "Say hello to x in a plain style.")
                    #expect(called["read"]?["contents"]?[0]?["text"] == "hello from the notes", "\(path): \(called)")
                }

                let progress = try await Self.client(
                    line, "progress", proxy.baseURL + "/mcp", ["--prefix", "local_"])
                #expect(progress["progress"]?.arrayValue?.count == 3, "\(progress)")
                #expect(progress["progress"]?[2]?["message"] == "step 3")
                #expect(progress["result"]?["content"]?[0]?["text"] == "done")

                for (index, prefix) in ["remote_", "local_"].enumerated() {
                    let cancelled = try await Self.client(
                        line, "cancel", proxy.baseURL + "/mcp",
                        ["--prefix", prefix, "--marker", folder.path + "/cancel-\(index)"])
                    #expect(cancelled["cancelled"] == true, "\(prefix): \(cancelled)")
                    #expect(cancelled["after"]?["content"]?[0]?["text"] == "after", "the session goes on")
                }

                switch line {
                case .mcp1:
                    // The 2024-11-05 HTTP+SSE transport.
                    let legacy = try await Self.client(
                        line, "call", proxy.baseURL + "/mcp/sse", ["--transport", "sse", "--prefix", "local_"])
                    #expect(legacy["echo"]?["content"]?[0]?["text"] == "hi", "\(legacy)")
                case .mcp2:
                    // The handshake era, asked for.
                    let handshake = try await Self.client(
                        line, "call", proxy.baseURL + "/local/mcp", ["--mode", "legacy"])
                    #expect(handshake["protocolVersion"] == "2025-11-25")
                    #expect(handshake["echo"]?["content"]?[0]?["text"] == "hi", "\(handshake)")
                }
            }
        }
    }

    @Test(
        "refused credentials, list changes and a server's questions reach the official client of each line",
        arguments: PythonLine.allCases)
    func sdkClientControls(line: PythonLine) async throws {
        try await withProxy(["--api-key", "k", "--elicitation", "--"] + line.fastMCPServer) { proxy in
            let url = proxy.baseURL + "/mcp"
            let key = ["--header", "Authorization: Bearer k"]
            let anonymous = try await Self.client(line, "auth", url)
            #expect(anonymous["ok"] == false)
            #expect(anonymous["status"] == 401, "\(anonymous)")
            let wrong = try await Self.client(line, "auth", url, ["--header", "Authorization: Bearer nope"])
            #expect(wrong["status"] == 403, "\(wrong)")
            let right = try await Self.client(line, "auth", url, key)
            #expect(right["ok"] == true, "\(right)")

            let changed = try await Self.client(line, "list_changed", url, key)
            #expect(changed["notified"] == true, "\(changed)")
            #expect(Self.names(changed, "toolsAfter").contains("late_tool"))

            let asked = try await Self.client(line, "elicit", url, key)
            #expect(asked["asked"] == "What is your name?", "\(asked)")
            #expect(asked["result"]?["content"]?[0]?["text"] == "Hello, Ann")
            if line == .mcp2 {
                // The server's own 2026-07-28 question (an input_required result), and a session's question.
                let resolved = try await Self.client(line, "elicit", url, key + ["--tool", "resolved_name"])
                #expect(resolved["result"]?["content"]?[0]?["text"] == "Hello, Ann", "\(resolved)")
                let session = try await Self.client(line, "elicit", url, key + ["--mode", "legacy"])
                #expect(session["result"]?["content"]?[0]?["text"] == "Hello, Ann", "\(session)")
            }
        }
    }

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
            #expect(try await TestHTTP.get(proxy, "/readyz").json?["mcpSessions"] == 2)
            let ended = try await TestHTTP.request(
                .DELETE, proxy.baseURL + "/kitchen/mcp", headers: reader.allHeaders)
            #expect(ended.status == 200)
            #expect(try await reader.request("tools/list").status == 404)
            #expect(try await TestHTTP.get(proxy, "/readyz").json?["mcpSessions"] == 1)
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
