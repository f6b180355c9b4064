/// Tools and prompts are called with POST, resources and the lists read with GET; any other method gets 405 with
/// `Allow`.
struct AllowedMethod: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let allowed = call.endpoint.operation.kind.httpMethod
        guard call.request.method.rawValue == allowed else { return .failure(.methodNotAllowed(allow: allowed)) }
        return await next(call)
    }
}
