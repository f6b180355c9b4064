/// The body against the tool's input schema (`ArgumentValidator`): cleaned arguments for the call, or 422 with every
/// issue found.
struct ArgumentValidation: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        switch call.endpoint.operation.validator.checkedArguments(fromBody: Array(call.body.readableBytesView)) {
        case .success(let arguments):
            var call = call
            call.arguments = arguments
            call.trail?.arguments(arguments.value)
            return await next(call)
        case .failure(let failure):
            return .failure(.invalidArguments(body: failure.responseBody))
        }
    }
}
