import JSONValue
import Logging
import MCPBridge
import MCPClient
import NIOHTTP1
import Synchronization
import Testing

@testable import MCPOHTTP

/// Each stage alone, with a stand-in for the stages after it.
@Suite("call stages")
struct CallStageTests {
    let upstream = TestUpstream(tools: [TestTools.echo]) { _ in TestTools.text("from the server") }

    private func call(
        _ method: HTTPMethod = .POST, headers: [(String, String)] = [], body: String = #"{"text":"x"}"#,
        face: Face? = nil
    ) -> ToolCall {
        let face = face ?? Face(upstream: upstream)
        guard case .tool(let endpoint) = face.routes.table.endpoints["/echo"] else {
            preconditionFailure("the test face serves /echo")
        }
        return ToolCall(
            request: ProxyRequest(
                method: method, target: "/echo", headers: HTTPHeaders(headers), body: .init(string: body),
                connection: Face.connection()),
            endpoint: endpoint)
    }

    /// Runs `stage` with `after` standing for the stages after it; returns the outcome and what `after` got.
    private func run(
        _ stage: any CallStage, _ call: ToolCall,
        after: @escaping @Sendable (ToolCall) -> CallOutcome = { _ in .result(TestTools.text("next")) }
    ) async -> (CallOutcome, ToolCall?) {
        let seen = Mutex<ToolCall?>(nil)
        let outcome = await CallChain([
            stage,
            Recorder { call in
                seen.withLock { $0 = call }
                return after(call)
            },
        ])(call)
        return (outcome, seen.withLock { $0 })
    }

    private struct Recorder: CallStage {
        let body: @Sendable (ToolCall) -> CallOutcome
        func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome { body(call) }
    }

    private func failure(_ outcome: CallOutcome) -> CallFailure? {
        if case .failure(let failure) = outcome.value { return failure }
        return nil
    }

    @Test("Authentication: the key's caller passes on; a wrong key stops the call")
    func authentication() async {
        let keyed = Face(upstream: upstream) { $0.apiKeys = ["k"] }
        let stage = Authentication(credentials: keyed.credentials, address: keyed.address)
        let (allowed, passed) = await run(stage, call(headers: [("Authorization", "Bearer k")], face: keyed))
        #expect(failure(allowed) == nil)
        #expect(passed?.caller.identity.credential == .apiKey(name: "cli"))
        let (refused, never) = await run(stage, call(headers: [("Authorization", "Bearer x")], face: keyed))
        #expect(failure(refused) == .forbidden(detail: "Invalid API key"))
        #expect(never == nil)
        let open = Face(upstream: upstream)
        let (allowedOpen, anonymous) = await run(
            Authentication(credentials: open.credentials, address: open.address), call(face: open))
        #expect(failure(allowedOpen) == nil)
        #expect(anonymous?.caller == .anonymous)
    }

    @Test("AllowedMethod: POST passes, anything else is 405")
    func allowedMethod() async {
        #expect(failure(await run(AllowedMethod(), call()).0) == nil)
        #expect(failure(await run(AllowedMethod(), call(.PUT)).0) == .methodNotAllowed(allow: "POST"))
    }

    @Test("CallTimeout: the header's seconds, bounded; junk refused")
    func callTimeout() async {
        let stage = CallTimeout(maxTimeout: 10)
        #expect(await run(stage, call(headers: [("X-MCPO-Timeout", "3")])).1?.timeout == 3)
        #expect(await run(stage, call(headers: [("X-MCPO-Timeout", "30")])).1?.timeout == 10)
        #expect(await run(stage, call()).1?.timeout == 300)
        for junk in ["0", "-1", "nan", "inf", "x"] {
            #expect(failure(await run(stage, call(headers: [("X-MCPO-Timeout", junk)])).0) != nil, "\(junk)")
        }
    }

    @Test("ArgumentValidation: cleaned arguments pass on, the caller's text kept when unchanged")
    func argumentValidation() async {
        let (_, passed) = await run(ArgumentValidation(), call(body: #"{"text":"a","extra":1}"#))
        #expect(passed?.arguments?.value == ["text": "a"])
        let (_, kept) = await run(ArgumentValidation(), call(body: #"{"text":"a"}"#))
        #expect(kept?.arguments?.text.map { String(decoding: $0, as: UTF8.self) } == #"{"text":"a"}"#)
        guard case .invalidArguments(let body) = failure(await run(ArgumentValidation(), call(body: "[]")).0) else {
            Issue.record("a body that is not an object is refused")
            return
        }
        #expect(body["detail"]?[0]?["type"] == "model_attributes_type")
    }

    @Test("Answer: results and failures become HTTP answers with the headers stages added")
    func answer() async {
        let (outcome, _) = await run(Answer(), call()) { _ in
            var outcome = CallOutcome.result(TestTools.text("hello"))
            outcome.headers.add(name: "Set-Cookie", value: "a=b")
            return outcome
        }
        guard case .response(let response) = outcome.value else {
            Issue.record("the answer stage makes a response")
            return
        }
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "set-cookie") == "a=b")
        #expect(response.bytes.map { String(buffer: $0) } == #""hello""#)
        let (failed, _) = await run(Answer(), call()) { _ in .failure(.notFound) }
        #expect(failed.status == 404)
    }

    @Test("Admission: the call counts as in flight while the stages after it run")
    func admission() async {
        let face = Face(upstream: upstream)
        let server = face.server
        let (_, _) = await run(Admission(logger: Self.quietLogger), call(face: face)) { _ in
            #expect(server.callsInFlight == 1)
            return .result(TestTools.text("x"))
        }
        #expect(server.callsInFlight == 0)
    }

    @Test("CallGate: a waiter whose client leaves gives up its place; the freed slot goes to the next in line")
    func gateWaiterLeaves() async {
        let gate = CallGate(limit: 1, queueLimit: 2)
        #expect(gate.tryEnter())
        let leaving = CallCancellation()
        let first = Task { await gate.enter(until: leaving) }
        let second = Task { await gate.enter(until: CallCancellation()) }
        await waitUntil { gate.queued == 2 }
        #expect(await gate.enter() == .refused)
        leaving.cancel()
        #expect(await first.value == .left)
        #expect(gate.queued == 1)
        gate.leave()
        #expect(await second.value == .admitted)
        #expect(!gate.tryEnter())
        gate.leave()
        #expect(gate.tryEnter())
        gate.leave()
        let gone = CallCancellation()
        gone.cancel()
        #expect(gate.tryEnter())
        #expect(await gate.enter(until: gone) == .left)
        gate.leave()
        #expect(gate.tryEnter())
    }

    /// Yields until `condition` holds (a state reached by another task), bounded only to catch a hang.
    private func waitUntil(_ condition: () -> Bool) async {
        for _ in 0..<1_000_000 where !condition() { await Task.yield() }
        #expect(condition())
    }

    private static let quietLogger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    @Test("UpstreamCall: the validated arguments, the timeout and the connection's cancellation go to the server")
    func upstreamCall() async {
        var prepared = call()
        prepared.arguments = ArgumentValidator.CheckedArguments(value: ["text": "v"], text: nil)
        prepared.timeout = 7
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let outcome = await CallChain([UpstreamCall(logger: logger)])(prepared)
        guard case .result(let result) = outcome.value else {
            Issue.record("the server's result comes back")
            return
        }
        #expect(result == TestTools.text("from the server"))
        let sent = upstream.received.last
        #expect(sent?.arguments == ["text": "v"])
        #expect(sent?.timeout == 7)
        #expect(sent?.cancellation === prepared.request.connection.clientLeft)
    }
}
