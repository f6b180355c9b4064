import JSONValue
import MCPClient
import MCPOConfig
import Testing

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
}
