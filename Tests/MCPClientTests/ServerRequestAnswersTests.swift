import JSONValue
import MCPOConfig
import Testing

@testable import MCPClient

/// What the proxy answers a server's requests, and the capabilities it declares for them: no I/O.
@Suite struct ServerRequestAnswersTests {
    @Test("without roots: no capability, roots/list and sampling refused with why, ping answered")
    func none() {
        let answers = ServerRequestAnswers()
        #expect(answers.capabilities == [:])
        #expect(answers.answer(method: "ping") == .result([:]))
        #expect(
            answers.answer(method: "roots/list")
                == .error(code: -32601, message: "The proxy offers no roots for this server (none configured)"))
        guard case .error(-32601, let message) = answers.answer(method: "sampling/createMessage") else {
            Issue.record("sampling must be refused")
            return
        }
        #expect(message.contains("does not sample"))
        #expect(
            answers.answer(method: "elicitation/create")
                == .error(code: -32601, message: "Method not supported by the proxy: elicitation/create"))
    }

    @Test("with roots: the roots capability, and roots/list answers them as configured")
    func roots() {
        let answers = ServerRequestAnswers(roots: [
            ServerRoot(uri: "file:///srv/data", name: "data"), ServerRoot(uri: "file:///tmp"),
        ])
        #expect(answers.capabilities == ["roots": ["listChanged": false]])
        #expect(
            answers.answer(method: "roots/list")
                == .result(["roots": [["uri": "file:///srv/data", "name": "data"], ["uri": "file:///tmp"]]]))
    }

    @Test("an input_required result: roots answered under the server's keys; elicitation or sampling fail the call")
    func inputRequired() async throws {
        let answers = ServerRequestAnswers(roots: [ServerRoot(uri: "file:///a")])
        let roots: JSON = [
            "resultType": "input_required", "requestState": "s1",
            "inputRequests": ["r1": ["method": "roots/list", "params": [:]]],
        ]
        #expect(
            try await MCPSession.inputResponses(to: roots, answers: answers)
                == ["r1": ["roots": [["uri": "file:///a"]]]])
        let mixed: JSON = [
            "resultType": "input_required",
            "inputRequests": [
                "r1": ["method": "roots/list"], "e1": ["method": "elicitation/create"],
                "s1": ["method": "sampling/createMessage"],
            ],
        ]
        await #expect(
            throws: MCPClientError.protocolViolation(
                "the tool asked the client for input (elicitation/create, sampling/createMessage), which the proxy "
                    + "cannot provide")
        ) { try await MCPSession.inputResponses(to: mixed, answers: answers) }
        await #expect(throws: MCPClientError.self) {
            try await MCPSession.inputResponses(to: roots, answers: ServerRequestAnswers())
        }
        // With the caller's answers at hand, a question goes to them.
        let asking = ServerRequestAnswers(elicitation: true)
        let question: JSON = ["inputRequests": ["q": ["method": "elicitation/create", "params": ["message": "?"]]]]
        let answered = try await MCPSession.inputResponses(to: question, answers: asking) { method, params in
            .result(["action": "accept", "content": ["asked": params["message"] ?? nil, "method": .string(method)]])
        }
        #expect(answered == ["q": ["action": "accept", "content": ["asked": "?", "method": "elicitation/create"]]])
    }
}
