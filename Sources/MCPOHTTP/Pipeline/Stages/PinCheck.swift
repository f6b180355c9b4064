/// `pinTools: block`: a tool whose definition changed since it was approved answers 409 with both hashes until the
/// change is approved (`mcpo pins approve`, or `POST /pins/<server>/<tool>/approve`); while the pins cannot be read
/// from the store at all, every call answers 503 (a check that cannot be made does not pass).
struct PinCheck: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        if call.endpoint.pinsUnreadable { return .failure(.pinsUnreadable(server: call.server.name)) }
        guard let blocked = call.endpoint.blockedPin else { return await next(call) }
        return .failure(
            .definitionChanged(
                tool: call.tool.name, server: call.server.name, approved: blocked.approved, current: blocked.current))
    }
}
