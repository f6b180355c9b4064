import JSONValue
import MCPClient
import Testing

@testable import MCPOHTTP

@Suite("every failure's answer, in process")
struct FailureAnswerTests {
    /// What a call answers when its server fails it with `error`.
    private func answer(to error: MCPClientError) async -> ReceivedAnswer {
        let upstream = TestUpstream(tools: [TestTools.echo]) { _ throws(MCPClientError) in throw error }
        return await Face(upstream: upstream).post("/echo", ["text": "x"])
    }

    @Test(
        "JSON-RPC errors map to mcpo's statuses, with their data unless null",
        arguments: [(-32700, 400), (-32600, 400), (-32601, 404), (-32602, 422), (-32603, 500), (-32001, 500)])
    func rpcErrors(code: Int, status: Int) async {
        let plain = await answer(to: .rpc(code: code, message: "boom", data: nil))
        #expect(plain.status == status)
        #expect(plain.json == ["detail": ["message": "boom"]])
        let withData = await answer(to: .rpc(code: code, message: "m", data: ["field": "x"]))
        #expect(withData.body == #"{"detail":{"message":"m","data":{"field":"x"}}}"#)
        #expect(await answer(to: .rpc(code: code, message: "m", data: .null)).json == ["detail": ["message": "m"]])
    }

    @Test("the connection's failures: 502 broken, 504 too long, 503 unreachable, 403 refused, 401 with a link")
    func connectionFailures() async {
        let cases: [(MCPClientError, Int, String)] = [
            (
                .disconnected(reason: "process exited with status 3"), 502,
                "MCP server 'test' disconnected: process exited with status 3"
            ),
            (.notDelivered(reason: "gone"), 502, "MCP server 'test' disconnected: gone"),
            (.cancelled, 502, "MCP server 'test' disconnected: the call was cancelled"),
            (.protocolViolation("bad"), 502, "MCP server 'test' disconnected: protocol violation: bad"),
            (
                .responseTooLarge(limit: 10), 502,
                "MCP server 'test' disconnected: the answer is larger than the limit of 10 bytes"
            ),
            (.timedOut(seconds: 30), 504, "MCP server 'test' did not answer within 30 s"),
            (.timedOut(seconds: 2.5), 504, "MCP server 'test' did not answer within 2.5 s"),
            (.unavailable(reason: "still starting"), 503, "MCP server 'test' is unavailable: still starting"),
            (.forbidden(reason: "no"), 403, "MCP server 'test' refused the call: no"),
        ]
        for (error, status, message) in cases {
            let answer = await answer(to: error)
            #expect(answer.status == status, "\(error)")
            #expect(answer.json == ["detail": ["message": .string(message)]], "\(error)")
        }
        let link = await answer(to: .authorizationRequired(AuthorizationLink(url: "https://as.example/authorize")))
        #expect(link.status == 401)
        #expect(link.json?["error"] == "authentication_required")
        #expect(link.json?["authorization_url"] == "https://as.example/authorize")
        #expect(link.json?["server"] == "test")
    }

    @Test("a tool error is 500 with the tool's own words; results map as mcpo maps them")
    func toolResults() async {
        let failing = TestUpstream(tools: [TestTools.echo]) { _ in
            ["content": [["type": "text", "text": "the tool failed"]], "isError": true]
        }
        let failed = await Face(upstream: failing).post("/echo", ["text": "x"])
        #expect(failed.status == 500)
        #expect(failed.json == ["detail": ["message": "the tool failed"]])
        let structured = TestUpstream(tools: [TestTools.echo]) { _ in
            ["content": [], "structuredContent": ["a": 1]]
        }
        #expect(await Face(upstream: structured).post("/echo", ["text": "x"]).json == ["a": 1])
    }

    @Test("invalid arguments: 422 with every issue; X-MCPO-Timeout junk: 400; neither reaches the server")
    func refusedBeforeTheServer() async throws {
        let upstream = TestUpstream(tools: [TestTools.echo]) { _ in TestTools.text("no") }
        let face = Face(upstream: upstream)
        let invalid = await face.post("/echo", ["text": 5])
        #expect(invalid.status == 422)
        let issue = try #require(invalid.json?["detail"]?[0])
        #expect(issue["type"] == "string_type")
        #expect(issue["loc"] == ["body", "text"])
        #expect(await face.request(.POST, "/echo", body: "{").status == 422)
        let junk = await face.post("/echo", ["text": "x"], headers: [("X-MCPO-Timeout", "soon")])
        #expect(junk.status == 400)
        #expect(junk.json == ["detail": "X-MCPO-Timeout must be a positive number of seconds, got 'soon'"])
        #expect(upstream.received.isEmpty)
    }

    @Test("the timeout a call runs with: the tool's, or X-MCPO-Timeout up to --max-timeout")
    func timeouts() async {
        let upstream = TestUpstream(tools: [TestTools.echo]) { _ in TestTools.text("ok") }
        let face = Face(upstream: upstream) {
            $0.callTimeoutSeconds = 300
            $0.maxCallTimeoutSeconds = 60
        }
        _ = await face.post("/echo", ["text": "x"])
        _ = await face.post("/echo", ["text": "x"], headers: [("X-MCPO-Timeout", " 2.5 ")])
        _ = await face.post("/echo", ["text": "x"], headers: [("X-MCPO-Timeout", "999")])
        #expect(upstream.received.map(\.timeout) == [300, 2.5, 60])
    }

    @Test("a full server: 503 at once when its queue is full")
    func overloaded() async {
        let release = CallCancellation()
        let upstream = TestUpstream(tools: [TestTools.echo]) { _ in
            await release.wait()
            return TestTools.text("done")
        }
        let face = Face(upstream: upstream, gate: CallGate(limit: 1, queueLimit: 0))
        async let first = face.post("/echo", ["text": "1"])
        while upstream.received.isEmpty { await Task.yield() }
        let second = await face.post("/echo", ["text": "2"])
        #expect(second.status == 503)
        #expect(
            second.json == [
                "detail": [
                    "message": "MCP server 'test' is unavailable: too many calls in flight (1 running, 0 queued)"
                ]
            ])
        release.cancel()
        #expect(await first.status == 200)
    }

    @Test("a client that goes away: its call is cancelled and answered 499")
    func clientLeft() async {
        let upstream = TestUpstream(tools: [TestTools.echo]) { request throws(MCPClientError) in
            await request.cancellation?.wait()
            throw .cancelled
        }
        let face = Face(upstream: upstream)
        let left = CallCancellation()
        async let answer = face.request(
            .POST, "/echo", body: #"{"text":"x"}"#, connection: Face.connection(clientLeft: left))
        while upstream.received.isEmpty { await Task.yield() }
        left.cancel()
        let result = await answer
        #expect(result.status == 499)
        #expect(result.json == ["detail": "The client closed the request"])
    }

    @Test("every refusal of the face has its status, body and headers")
    func refusals() {
        #expect(
            CallFailure.unauthenticated(detail: "d", challenge: "Bearer").response.headers.first(
                name: "www-authenticate") == "Bearer")
        #expect(CallFailure.forbidden(detail: "d").answer == .init(status: 403, body: ["detail": "d"]))
        #expect(
            CallFailure.invalidSession(detail: "expired").answer
                == .init(status: 401, body: ["detail": "Invalid session token: expired"]))
        #expect(
            CallFailure.invalidSession(detail: "x").headers.first(name: "www-authenticate")
                == #"Bearer error="invalid_token""#)
        #expect(
            CallFailure.signInRequired(server: "s", authorizeURL: "http://p/oauth/s/authorize").answer.status == 401)
        #expect(CallFailure.methodNotAllowed(allow: "GET").headers.first(name: "allow") == "GET")
        #expect(CallFailure.notFound.answer == .init(status: 404, body: ["detail": "Not Found"]))
        #expect(
            CallFailure.bodyTooLarge(limit: 5).answer
                == .init(status: 413, body: ["detail": "The request body is larger than the limit of 5 bytes"]))
        #expect(CallFailure.clientLeft.status == 499)
        #expect(CallFailure.upstream(server: "s", .timedOut(seconds: 1)).status == 504)
    }
}
