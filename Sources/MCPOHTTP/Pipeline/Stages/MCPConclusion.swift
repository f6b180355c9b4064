import JSONValue

/// The MCP endpoint's counterpart of `Answer`: the outcome stays a result or a failure (the endpoint writes the
/// JSON-RPC answer), and the call's record is concluded with what its client gets.
struct MCPConclusion: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let outcome = await next(call)
        guard let trail = call.trail else { return outcome }
        let answer: JSON
        switch MCPCallAnswer.answer(for: outcome.value) {
        case .success(let result): answer = result
        case .failure(let error): answer = error.message(id: nil)["error"] ?? .null
        }
        await trail.conclude(outcome.value, status: outcome.status ?? 200, body: answer.bytes)
        return outcome
    }
}
