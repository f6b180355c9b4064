import Foundation
import JSONValue
import TestSupport
import Testing

/// A server's questions during a REST call: 409 with the question and a continuation, the caller's answer with
/// `X-MCPO-Continuation`, against the official Python SDK (1.x `ctx.elicit`, 2.x `ctx.elicit` and its resolvers,
/// which use `input_required` results with 2026-07-28).
@Suite("questions a server asks during a call")
struct ElicitationTests {
    static func continuation(_ reply: HTTPReply) -> String? { reply.json?["continuation"]?.stringValue }

    static func answer(
        _ proxy: ProxyProcess, _ path: String, token: String, _ body: JSON, headers: [(String, String)] = []
    ) async throws -> HTTPReply {
        try await TestHTTP.post(proxy, path, body, headers: headers + [("X-MCPO-Continuation", token)])
    }

    /// Asks, answers, and checks that the token is used up.
    static func roundTrip(_ proxy: ProxyProcess, _ path: String, name: String) async throws {
        let asked = try await TestHTTP.post(proxy, path, [:])
        #expect(asked.status == 409, "\(asked.text)")
        #expect(asked.json?["detail"] == "The server needs more input to finish this call.")
        #expect(asked.json?["elicitation"]?["message"] == "What is your name?")
        #expect(asked.json?["elicitation"]?["requestedSchema"]?["properties"]?["name"]?["type"] == "string")
        let token = try #require(Self.continuation(asked))
        let done = try await Self.answer(
            proxy, path, token: token, ["action": "accept", "content": ["name": .string(name)]])
        #expect(done.status == 200, "\(done.text)")
        #expect(done.json == .string("Hello, \(name)"))
        let again = try await Self.answer(proxy, path, token: token, ["action": "decline"])
        #expect(again.status == 404, "a token is used once: \(again.text)")
    }

    @Test(
        "over stdio and streamable HTTP, on both SDK lines, the answer reaches the tool", arguments: PythonLine.allCases
    )
    func roundTrips(line: PythonLine) async throws {
        let peer = try RemotePeer.sdk(line, transport: "streamable-http")
        try await withRemotePeer(peer) { peer in
            let folder = try AccountabilityTests.Folder()
            let server = line.fastMCPServer
            try folder.write(
                """
                {"mcpServers": {
                  "local": {"command": "\(server[0])", "args": ["\(server[1])"], "elicitation": true},
                  "remote": {"type": "streamable-http", "url": "\(peer.url("/mcp"))", "elicitation": true}}}
                """)
            try await withProxy(["--config", folder.config]) { proxy in
                #expect(
                    try await pollUntil(within: .seconds(120)) {
                        let servers = try await TestHTTP.get(proxy, "/readyz").json?["servers"]
                        return servers?["local"]?["state"] == "connected" && servers?["remote"]?["state"] == "connected"
                    })
                try await Self.roundTrip(proxy, "/local/ask_name", name: "Ann")
                switch line {
                case .mcp1:
                    // A stateful session: the question comes on the call's own response stream.
                    try await Self.roundTrip(proxy, "/remote/ask_name", name: "Bo")
                case .mcp2:
                    // 2026-07-28: an input_required result; the call is sent again with the answer.
                    try await Self.roundTrip(proxy, "/remote/resolved_name", name: "Bo")
                    try await Self.roundTrip(proxy, "/local/resolved_name", name: "Cy")
                }
                let declined = try await TestHTTP.post(proxy, "/local/ask_name", [:])
                let token = try #require(Self.continuation(declined))
                let bad = try await Self.answer(proxy, "/local/ask_name", token: token, ["action": "maybe"])
                #expect(bad.status == 400, "\(bad.text)")
                let answered = try await Self.answer(proxy, "/local/ask_name", token: token, ["action": "decline"])
                #expect(answered.json == "decline", "a wrong body does not use the token up: \(answered.text)")
            }
        }
    }

    @Test("a continuation is the caller's own: another key is refused, and the right one still answers")
    func boundToCaller() async throws {
        let arguments =
            ["--elicitation", "--api-key", "first-key", "--api-key", "second-key", "--"] + PythonLine.mcp1.fastMCPServer
        try await withProxy(arguments) { proxy in
            let first = [("Authorization", "Bearer first-key")]
            let asked = try await TestHTTP.post(proxy, "/ask_name", [:], headers: first)
            let token = try #require(Self.continuation(asked))
            let foreign = try await Self.answer(
                proxy, "/ask_name", token: token, ["action": "accept", "content": ["name": "Eve"]],
                headers: [("Authorization", "Bearer second-key")])
            #expect(foreign.status == 403, "\(foreign.text)")
            let own = try await Self.answer(
                proxy, "/ask_name", token: token, ["action": "accept", "content": ["name": "Ann"]], headers: first)
            #expect(own.json == "Hello, Ann", "\(own.text)")
        }
    }

    @Test("a question nobody answers is cancelled after elicitationTimeoutSeconds; its token then answers 504")
    func unanswered() async throws {
        try await withProxy(["--elicitation", "--elicitation-timeout", "1", "--"] + PythonLine.mcp1.fastMCPServer) {
            proxy in
            let asked = try await TestHTTP.post(proxy, "/ask_name", [:])
            let token = try #require(Self.continuation(asked))
            #expect(await proxy.waitForLog("a question to the caller was not answered within 1.0 seconds"))
            let late = try await Self.answer(
                proxy, "/ask_name", token: token, ["action": "accept", "content": ["name": "x"]])
            #expect(late.status == 504, "\(late.text)")
            #expect(try await TestHTTP.post(proxy, "/echo", ["text": "still here"]).json == "still here")
        }
    }

    @Test("without elicitation: true the proxy declares no elicitation: the server's question fails inside the tool")
    func switchedOff() async throws {
        let folder = try AccountabilityTests.Folder()
        let server = PythonLine.mcp1.fastMCPServer
        try folder.write(#"{"mcpServers": {"quiet": {"command": "\#(server[0])", "args": ["\#(server[1])"]}}}"#)
        try await withProxy(["--config", folder.config]) { proxy in
            #expect(
                try await pollUntil(within: .seconds(120)) {
                    try await TestHTTP.get(proxy, "/readyz").json?["servers"]?["quiet"]?["state"] == "connected"
                })
            let reply = try await TestHTTP.post(proxy, "/quiet/ask_name", [:])
            #expect(reply.status != 409, "\(reply.text)")
            #expect(reply.json?["continuation"] == nil)
        }
    }
}
