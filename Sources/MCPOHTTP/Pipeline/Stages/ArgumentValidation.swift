import JSONValue

/// The body (or, for a route read with GET, the query; the MCP endpoint sends a body for every operation) against the operation's input schema (`ArgumentValidator`):
/// cleaned arguments for the call, or 422 with every issue found.
struct ArgumentValidation: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let operation = call.endpoint.operation
        let input: [UInt8]
        if call.request.method == .GET || call.request.method == .HEAD {
            var object = OrderedJSONObject()
            for (name, value) in QueryParameters.parse(call.request.query) { object[name] = .string(value) }
            input = JSON.object(object).bytes
        } else {
            input = Array(call.body.readableBytesView)
        }
        switch operation.validator.checkedArguments(fromBody: input) {
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
