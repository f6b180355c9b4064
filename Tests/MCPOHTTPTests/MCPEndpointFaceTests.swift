import JSONValue
import MCPClient
import NIOCore
import NIOHTTP1
import Synchronization
import TestSupport
import Testing

@testable import MCPOHTTP

/// The MCP endpoint's message handling without I/O, and in process in front of a `TestUpstream`: sessions,
/// versions, progress on the call's stream, cancellation, questions forwarded to the client, 2026-07-28 requests.
@Suite struct MCPEndpointFaceTests {
    static let accept = ("Accept", "application/json, text/event-stream")
    static let json = ("Content-Type", "application/json")

    static func message(_ id: Int, _ method: String, _ params: JSON = [:]) -> JSON {
        ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
    }

    /// `initialize` at `version`; the session id.
    static func initialize(_ face: Face, version: String = "2025-11-25", capabilities: JSON = [:]) async -> (
        ReceivedAnswer, String?
    ) {
        let answer = await face.post(
            json:
                "/mcp",
            message(
                1, "initialize",
                ["protocolVersion": .string(version), "capabilities": capabilities, "clientInfo": ["name": "t"]]),
            headers: [accept])
        return (answer, answer.header("mcp-session-id"))
    }

    @Test("messages are told apart by their members; a malformed one gets the JSON-RPC error that says why")
    func parsing() {
        #expect(
            JSONRPCMessage.parse(["jsonrpc": "2.0", "id": 1, "method": "ping"])
                == .success(.request(id: 1, method: "ping", params: nil)))
        #expect(
            JSONRPCMessage.parse(["jsonrpc": "2.0", "method": "notifications/initialized"])
                == .success(.notification(method: "notifications/initialized", params: nil)))
        #expect(
            JSONRPCMessage.parse(["jsonrpc": "2.0", "id": "q", "result": [:]])
                == .success(.response(id: "q", result: [:], error: nil)))
        #expect(JSONRPCMessage.parse(["id": 1, "method": "ping"]).failure?.code == -32600)
        #expect(JSONRPCMessage.parse(["jsonrpc": "2.0", "id": [1], "method": "ping"]).failure?.code == -32600)
        #expect(
            JSONRPCMessage.parse(["jsonrpc": "2.0", "id": 1, "method": "x", "params": [1]]).failure?.code == -32602)
        #expect(JSONRPCMessage.parse(["jsonrpc": "2.0", "id": 1]).failure?.code == -32600)
        #expect(JSONRPCMessage.parse("text").failure?.code == -32600)
    }

    @Test("initialize keeps a version the endpoint speaks and offers the newest handshake one otherwise")
    func negotiation() {
        #expect(MCPProtocolVersions.negotiated("2024-11-05") == "2024-11-05")
        #expect(MCPProtocolVersions.negotiated("2025-03-26") == "2025-03-26")
        #expect(MCPProtocolVersions.negotiated("2026-07-28") == "2025-11-25")
        #expect(MCPProtocolVersions.negotiated("1999-01-01") == "2025-11-25")
        #expect(MCPProtocolVersions.negotiated(nil) == "2025-11-25")
    }

    @Test("a call's outcome as its MCP answer: input errors are tool errors, the server's errors its own")
    func callAnswers() {
        let invalid = MCPCallAnswer.answer(for: .invalidArguments(body: ["detail": [["msg": "bad"]]]))
        #expect(invalid.success?["isError"] == true)
        #expect(invalid.success?["content"]?[0]?["text"]?.stringValue?.hasPrefix("Invalid arguments: ") == true)
        let unconfirmed = MCPCallAnswer.answer(for: .confirmationRequired(tool: "rm", risk: "high", field: "confirm"))
        #expect(unconfirmed.success?["isError"] == true)
        let upstream = MCPCallAnswer.answer(
            for: .upstream(server: "s", .rpc(code: -32099, message: "custom", data: ["k": 1])))
        #expect(upstream.failure == JSONRPCError(code: -32099, message: "custom", data: ["k": 1]))
        let limited = MCPCallAnswer.answer(for: .rateLimited(detail: "slow down", retryAfterSeconds: 3))
        #expect(limited.failure?.code == -32603)
        #expect(limited.failure?.message == "slow down")
        #expect(limited.failure?.data?["status"] == 429)
        let asked = MCPCallAnswer.answer(for: .inputRequired(question: ["message": "Name?"], continuation: "tok"))
        #expect(asked.success?["resultType"] == "input_required")
        #expect(asked.success?["requestState"] == "tok")
        #expect(asked.success?["inputRequests"]?["elicitation"]?["method"] == "elicitation/create")
        #expect(asked.success?["inputRequests"]?["elicitation"]?["params"]?["mode"] == "form")
        let missing = MCPCallAnswer.answer(for: .noSuchResource(server: "s", uri: "a://x", message: "no"))
        #expect(missing.failure?.code == -32002)
    }

    @Test("a call's cancellation follows its connection until released, and leaves nothing on it after")
    func followedCancellation() {
        let connection = CallCancellation()
        let released = FollowedCancellation(following: connection)
        released.release()
        let held = FollowedCancellation(following: connection)
        connection.cancel()
        #expect(held.cancellation.isCancelled)
        #expect(!released.cancellation.isCancelled, "a released call no longer hangs on its connection")
        #expect(FollowedCancellation(following: connection).cancellation.isCancelled, "a connection gone already")
    }

    @Test("a tool named mcp keeps its REST route")
    func toolNamedMCP() async {
        let tool: JSON = ["name": "mcp", "inputSchema": ["type": "object", "properties": [:]]]
        let face = Face(upstream: TestUpstream(tools: [tool]) { _ in TestTools.text("the tool") })
        let answer = await face.post(json: "/mcp", Self.message(1, "tools/list"), headers: [Self.accept])
        #expect(answer.json == "the tool", "\(answer.body)")
        await face.shutdown()
    }

    @Test("sessions end when idle, unless a call is in flight or (HTTP+SSE) their stream is open; each is its owner's")
    func idleSessions() throws {
        let sessions = MCPSessions(idleTimeout: .seconds(3600))
        // The instants are the test's own: before every session's last use, and well after it.
        let opened = ContinuousClock.now
        let idle = try #require(sessions.open(path: "/mcp", owner: "a"))
        let busy = try #require(sessions.open(path: "/mcp", owner: "a"))
        let (_, channel) = AsyncStream.makeStream(of: ByteBuffer.self)
        let streamed = try #require(sessions.open(path: "/mcp", owner: "a", channel: channel))
        #expect(busy.track(1, CallCancellation()))
        #expect(sessions.session(idle.id, path: "/mcp", owner: "b") == nil, "another owner")
        #expect(sessions.session(idle.id, path: "/x/mcp", owner: "a") == nil, "another endpoint")
        sessions.sweep(at: opened + .seconds(3600))
        #expect(sessions.count == 3)
        sessions.sweep(at: opened + .seconds(7200))
        #expect(sessions.session(idle.id, path: "/mcp", owner: "a") == nil)
        #expect(sessions.session(busy.id, path: "/mcp", owner: "a") != nil)
        #expect(sessions.session(streamed.id, path: "/mcp", owner: "a") != nil)
        #expect(!idle.track(2, CallCancellation()), "an ended session takes no calls")
    }

    @Test("a session: initialize gives its id, requests without it are refused, DELETE ends it")
    func sessions() async {
        let face = Face(upstream: TestUpstream(tools: [TestTools.echo]) { _ in TestTools.text("hi") })
        let (initialized, session) = await Self.initialize(face, version: "2024-11-05")
        #expect(initialized.json?["result"]?["protocolVersion"] == "2024-11-05")
        #expect(initialized.json?["result"]?["capabilities"]?["tools"]?["listChanged"] == true)
        #expect(initialized.json?["result"]?["serverInfo"]?["name"] == "test")
        let id = try? #require(session)
        let headers = [Self.accept, ("Mcp-Session-Id", id ?? "")]
        let listed = await face.post(json: "/mcp", Self.message(2, "tools/list"), headers: headers)
        #expect(listed.json?["result"]?["tools"]?[0]?["name"] == "echo")
        #expect(listed.json?["result"]?["resultType"] == nil, "handshake revisions get their results as they were")
        let called = await face.post(
            json:
                "/mcp", Self.message(3, "tools/call", ["name": "echo", "arguments": ["text": "x"]]), headers: headers)
        #expect(called.json?["result"]?["content"]?[0]?["text"] == "hi")
        let notification = await face.post(
            json:
                "/mcp", ["jsonrpc": "2.0", "method": "notifications/initialized"], headers: headers)
        #expect(notification.status == 202)
        let batch = await face.post(
            json: "/mcp", [Self.message(8, "ping"), Self.message(9, "tools/list"), ["jsonrpc": "2.0", "method": "x"]],
            headers: headers)
        #expect(batch.json?.arrayValue?.map { $0["id"] } == [8, 9], "a batch's requests answered in one array")
        let browser = await face.post(
            json: "/mcp", Self.message(10, "ping"), headers: headers + [("Origin", "http://ui")])
        #expect(browser.header("access-control-expose-headers")?.contains("Mcp-Session-Id") == true)
        let unknown = await face.post(
            json: "/mcp", Self.message(4, "tools/list"), headers: [Self.accept, ("Mcp-Session-Id", "nope")])
        #expect(unknown.status == 404)
        let without = await face.post(json: "/mcp", Self.message(4, "tools/list"), headers: [Self.accept])
        #expect(without.status == 400)
        let plain = await face.post("/mcp", Self.message(4, "tools/list"), headers: headers)
        #expect(plain.status == 415, "a body without its JSON type")
        let badVersion = await face.post(
            json:
                "/mcp", Self.message(5, "tools/list"), headers: headers + [("MCP-Protocol-Version", "1999-01-01")])
        #expect(badVersion.status == 400)
        let notJSON = await face.request(
            .POST, "/mcp", headers: headers + [("Content-Type", "application/json")], body: "{")
        #expect(notJSON.status == 400)
        #expect(notJSON.json?["error"]?["code"] == -32700)
        let ended = await face.request(.DELETE, "/mcp", headers: headers)
        #expect(ended.status == 200)
        let after = await face.post(json: "/mcp", Self.message(6, "tools/list"), headers: headers)
        #expect(after.status == 404)
        await face.shutdown()
    }

    @Test(
        "a call with a progress token answers with a stream: the server's progress under the client's token, then the result"
    )
    func progress() async {
        let upstream = TestUpstream(tools: [TestTools.echo]) { request in
            request.onProgress?(["progressToken": 99, "progress": 1, "total": 2, "message": "half"])
            return TestTools.text("done")
        }
        let face = Face(upstream: upstream)
        let (_, session) = await Self.initialize(face)
        let answer = await face.post(
            json:
                "/mcp",
            Self.message(
                2, "tools/call", ["name": "echo", "arguments": ["text": "x"], "_meta": ["progressToken": "client-7"]]),
            headers: [Self.accept, ("Mcp-Session-Id", session ?? "")])
        #expect(answer.header("content-type") == "text/event-stream")
        let messages = answer.events.compactMap(\.data)
        #expect(messages.count == 2, "\(answer.body)")
        #expect(messages.first?["method"] == "notifications/progress")
        #expect(messages.first?["params"]?["progressToken"] == "client-7")
        #expect(messages.first?["params"]?["message"] == "half")
        #expect(messages.last?["id"] == 2)
        #expect(messages.last?["result"]?["content"]?[0]?["text"] == "done")
        await face.shutdown()
    }

    @Test("notifications/cancelled cancels the call it names upstream")
    func cancellation() async throws {
        let upstream = TestUpstream(tools: [TestTools.echo]) { request throws(MCPClientError) in
            let cancellation = request.cancellation
            let cancelled = await pollUntil(within: .seconds(60), every: .milliseconds(10)) {
                cancellation?.isCancelled == true
            }
            throw cancelled ? .cancelled : .unavailable(reason: "never cancelled")
        }
        let face = Face(upstream: upstream)
        let (_, session) = await Self.initialize(face)
        let headers = [Self.accept, ("Mcp-Session-Id", session ?? "")]
        async let called = face.post(
            json:
                "/mcp", Self.message(7, "tools/call", ["name": "echo", "arguments": ["text": "x"]]), headers: headers)
        #expect(await pollUntil(within: .seconds(60), every: .milliseconds(10)) { !upstream.received.isEmpty })
        let notified = await face.post(
            json:
                "/mcp", ["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": 7]],
            headers: headers)
        #expect(notified.status == 202)
        let answer = await called
        #expect(answer.json?["id"] == 7)
        #expect(answer.json?["error"] != nil, "\(answer.body)")
        await face.shutdown()
    }

    @Test("a server's question reaches a client that elicits on the call's stream, and its answer goes back")
    func forwardedQuestion() async throws {
        var features = TestUpstream.Features()
        features.elicitation = true
        let upstream = TestUpstream(tools: [TestTools.echo], features: features) { request in
            guard let ask = request.onInput else { return TestTools.text("no way to ask") }
            let answer = await ask("elicitation/create", ["message": "Name?", "requestedSchema": ["type": "object"]])
            guard case .result(let result) = answer else { return TestTools.text("error") }
            return TestTools.text(
                "Hello \(result["content"]?["name"]?.stringValue ?? result["action"]?.stringValue ?? "?")")
        }
        let face = Face(upstream: upstream)
        let (_, session) = await Self.initialize(face, capabilities: ["elicitation": [:]])
        let headers = [Self.accept, ("Mcp-Session-Id", session ?? "")]
        let response = await face.responder.respond(
            to: ProxyRequest(
                method: .POST, target: "/mcp", headers: HTTPHeaders(headers + [Self.json]),
                body: ByteBuffer(
                    bytes: Self.message(3, "tools/call", ["name": "echo", "arguments": ["text": "x"]]).bytes),
                connection: Face.connection()))
        guard case .stream(let chunks) = response.body else {
            Issue.record("a call of a server that asks answers with a stream")
            return
        }
        var messages: [JSON] = []
        for await chunk in chunks {
            let text = String(buffer: chunk)
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }),
                let message = try? JSON.parse(Array(line.dropFirst(6).utf8))
            else { continue }
            messages.append(message)
            if message["method"] == "elicitation/create", let id = message["id"] {
                #expect(message["params"]?["message"] == "Name?")
                let answered = await face.post(
                    json:
                        "/mcp",
                    ["jsonrpc": "2.0", "id": id, "result": ["action": "accept", "content": ["name": "Ann"]]],
                    headers: headers)
                #expect(answered.status == 202)
            }
        }
        #expect(messages.last?["result"]?["content"]?[0]?["text"] == "Hello Ann", "\(messages)")
        await face.shutdown()
    }

    @Test("2026-07-28: server/discover, requests without a session carrying their version, -32022 for another")
    func stateless() async {
        let face = Face(upstream: TestUpstream(tools: [TestTools.echo]) { _ in TestTools.text("hi") })
        let meta: JSON = ["io.modelcontextprotocol/protocolVersion": "2026-07-28"]
        let discovered = await face.post(
            json: "/mcp", Self.message(1, "server/discover", ["_meta": meta]), headers: [Self.accept])
        #expect(discovered.json?["result"]?["supportedVersions"]?.arrayValue?.contains("2026-07-28") == true)
        #expect(discovered.json?["result"]?["resultType"] == "complete")
        #expect(discovered.json?["result"]?["ttlMs"] == 0)
        #expect(discovered.header("mcp-session-id") == nil)
        let listed = await face.post(
            json: "/mcp", Self.message(2, "tools/list", ["_meta": meta]), headers: [Self.accept])
        #expect(listed.json?["result"]?["tools"]?[0]?["name"] == "echo")
        #expect(listed.json?["result"]?["cacheScope"] == "private")
        let called = await face.post(
            json:
                "/mcp", Self.message(3, "tools/call", ["name": "echo", "arguments": ["text": "x"], "_meta": meta]),
            headers: [Self.accept])
        #expect(called.json?["result"]?["resultType"] == "complete")
        #expect(called.json?["result"]?["ttlMs"] == nil, "a tool's result is not cacheable")
        let other = await face.post(
            json:
                "/mcp",
            Self.message(4, "tools/list", ["_meta": ["io.modelcontextprotocol/protocolVersion": "2099-01-01"]]),
            headers: [Self.accept])
        #expect(other.json?["error"]?["code"] == -32022)
        #expect(other.json?["error"]?["data"]?["supported"]?.arrayValue?.contains("2026-07-28") == true)
        await face.shutdown()
    }
}

extension Face {
    /// A POST of a JSON-RPC message, as MCP clients send it.
    fileprivate func post(json target: String, _ body: JSON, headers: [(String, String)] = []) async -> ReceivedAnswer {
        await post(target, body, headers: headers + [MCPEndpointFaceTests.json])
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }

    fileprivate var success: Success? {
        if case .success(let success) = self { return success }
        return nil
    }
}
