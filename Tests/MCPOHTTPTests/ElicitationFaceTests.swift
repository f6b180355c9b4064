import JSONValue
import MCPClient
import NIOHTTP1
import TestSupport
import Testing

@testable import MCPOHTTP

/// The question round trip in process: a server (made in the test) asks through the call's input handler.
@Suite struct ElicitationFaceTests {
    static var asking: TestUpstream.Features {
        var features = TestUpstream.Features()
        features.elicitation = true
        return features
    }

    /// A tool that asks one question and answers with what came back.
    static func face() -> Face {
        let upstream = TestUpstream(tools: [TestTools.noArguments], features: Self.asking) {
            request throws(MCPClientError) in
            guard let ask = request.onInput else { return TestTools.text("no questions") }
            switch await ask("elicitation/create", ["message": "Name?", "requestedSchema": ["type": "object"]]) {
            case .result(let answer): return TestTools.text(answer.text)
            case .error(_, let message): return TestTools.text("error: " + message)
            }
        }
        return Face(upstream: upstream)
    }

    @Test("409 with the question and a token; the answer with the token gets the call's result; the token is spent")
    func roundTrip() async throws {
        let face = Self.face()
        let asked = await face.post("/ping", [:])
        #expect(asked.status == 409)
        #expect(asked.json?["elicitation"] == ["message": "Name?", "requestedSchema": ["type": "object"]])
        let token = try #require(asked.json?["continuation"]?.stringValue)
        #expect(face.server.entry.features.elicitation)
        let answered = await face.post(
            "/ping", ["action": "accept", "content": ["name": "Ann"]], headers: [("X-MCPO-Continuation", token)])
        #expect(answered.status == 200)
        #expect(
            answered.json == [
                "action": "accept", "content": ["name": "Ann"],
            ])
        let spent = await face.post("/ping", ["action": "cancel"], headers: [("X-MCPO-Continuation", token)])
        #expect(spent.status == 404)
        let unknown = await face.post("/ping", ["action": "cancel"], headers: [("X-MCPO-Continuation", "nope")])
        #expect(unknown.status == 404)
    }

    @Test("a caller that leaves while the call runs (after answering) cancels the call upstream")
    func callerLeaves() async throws {
        let sawCancel = CallCancellation()
        let upstream = TestUpstream(tools: [TestTools.noArguments], features: Self.asking) {
            request throws(MCPClientError) in
            _ = await request.onInput?("elicitation/create", ["message": "Name?"])
            // Answered: the call goes on until it is cancelled.
            await request.cancellation?.wait()
            sawCancel.cancel()
            throw .cancelled
        }
        let face = Face(upstream: upstream)
        let asked = await face.post("/ping", [:])
        let token = try #require(asked.json?["continuation"]?.stringValue)
        let left = CallCancellation()
        left.cancel()
        let answer = await face.request(
            .POST, "/ping", headers: [("X-MCPO-Continuation", token)], body: #"{"action": "decline"}"#,
            connection: Face.connection(clientLeft: left))
        #expect(answer.status == 499)
        #expect(await pollUntil(within: .seconds(30)) { sawCancel.isCancelled }, "the call was not cancelled upstream")
    }
}
