/// The outcome as the HTTP answer: a tool result through `ToolResultMapper`, a failure through its own answer
/// (`CallFailure+Answer.swift`), with the headers stages added on the way and the call's request id.
struct Answer: CallStage {
    /// Binaries over `inlineBinaryLimit` are linked to `/files/<id>` instead of inlined.
    var files: FileStore?
    var address = PublicAddress(rootPath: "", defaultScheme: "http")

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        var outcome = await next(call)
        var response = CallOutcome.answer(
            for: outcome.value, operation: call.endpoint.operation,
            offload: files?.offload(
                for: call.request, caller: outcome.callerName ?? call.caller.identity.name, address: address))
        if let trail = call.trail, case .bytes(let body) = response.body {
            switch outcome.value {
            case .result, .failure:
                await trail.conclude(outcome.value, status: Int(response.status.code), body: body.readableBytesView)
            case .response:
                break  // an event stream concludes when it ends
            }
        }
        // The request id recording gave the call, on the answer as it is made.
        if let trail = call.trail { response.headers.add(name: "X-Request-Id", value: trail.id) }
        for (name, value) in outcome.headers { response.headers.add(name: name, value: value) }
        outcome.value = .response(response)
        outcome.headers = [:]
        return outcome
    }
}
