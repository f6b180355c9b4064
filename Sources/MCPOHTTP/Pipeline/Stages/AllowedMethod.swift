/// Tools are called with POST; any other method gets 405 with `Allow: POST`.
struct AllowedMethod: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        guard call.request.method == .POST else { return .failure(.methodNotAllowed(allow: "POST")) }
        return await next(call)
    }
}
