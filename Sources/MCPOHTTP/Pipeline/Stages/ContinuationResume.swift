import JSONValue

/// `X-MCPO-Continuation: <token>`: the caller answers the question a server asked during its call (`{"action":
/// "accept", "content": {…}}`, `decline` or `cancel`), and this request gets the call's next event: its result, or
/// the next question (409 again). The token is the caller's own (same identity, same credential) and single use.
struct ContinuationResume: CallStage {
    static let header = "x-mcpo-continuation"

    let continuations: Continuations

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        guard let token = call.request.header(Self.header) else { return await next(call) }
        // The answer is checked before the token is taken: a mistaken body does not use it up.
        let answer: JSON
        switch Self.answer(in: call.body.readableBytesView) {
        case .failure(let failure): return .failure(failure)
        case .success(let parsed): answer = parsed
        }
        switch continuations.take(token, owner: CallerKey.of(call.request, identity: call.caller.identity.name)) {
        case .unknown:
            return .failure(.continuationUnknown)
        case .foreign:
            return .failure(.continuationForeign)
        case .expired:
            return .failure(.continuationExpired(seconds: Double(continuations.timeout.components.seconds)))
        case .found(let exchange):
            guard exchange.answer(token, with: answer) else { return .failure(.continuationUnknown) }
            return await exchange.respond(clientLeft: call.request.connection.clientLeft)
        }
    }

    /// `{"action": "accept", "content": {…}}`, `{"action": "decline"}` or `{"action": "cancel"}`, as MCP's
    /// `ElicitResult` has it.
    static func answer(in body: some Collection<UInt8>) -> Result<JSON, CallFailure> {
        let usage =
            "The body answers the server's question: {\"action\": \"accept\", \"content\": {…}} with the fields "
            + "of its requestedSchema, or {\"action\": \"decline\"} or {\"action\": \"cancel\"}"
        guard case .object(let object)? = try? JSON.parse(Array(body)), let action = object["action"]?.stringValue
        else { return .failure(.badRequest(detail: usage)) }
        switch action {
        case "accept":
            guard case .object(let content)? = object["content"] else { return .failure(.badRequest(detail: usage)) }
            return .success(["action": "accept", "content": .object(content)])
        case "decline", "cancel":
            return .success(["action": .string(action)])
        default:
            return .failure(.badRequest(detail: usage))
        }
    }
}
