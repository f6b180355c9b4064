/// Every call that reaches a tool route is recorded (audit log, metrics) whatever becomes of it: this stage gives
/// the call its request id (the caller's `X-Request-Id` when it is a sane token) and its W3C trace context, sends
/// the id back on the answer, and, with `audit.required`, refuses calls while the audit log cannot be written.
/// The record itself is made when the call concludes (`CallTrail`).
struct Recording: CallStage {
    let services: GovernanceServices

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let given = call.request.header("x-request-id")
        let id = given.flatMap { RequestIDs.isSane($0) ? $0 : nil } ?? services.requestIDs.next()
        let trace = call.request.header("traceparent").flatMap {
            TraceParent(traceparent: $0, tracestate: call.request.header("tracestate"))
        }
        let trail = CallTrail(
            id: id, traceID: trace?.traceID, endpoint: call.endpoint, body: call.request.body, services: services)
        var call = call
        call.trail = trail
        call.trace = trace
        var outcome: CallOutcome
        if let writer = services.auditWriter, writer.settings.required, !writer.isHealthy {
            let failure = CallFailure.auditUnavailable
            let response = failure.response
            if case .bytes(let body) = response.body {
                await trail.conclude(.failure(failure), status: failure.status, body: body.readableBytesView)
            }
            outcome = .response(response)
        } else {
            outcome = await next(call)
        }
        if case .response(var response) = outcome.value {
            response.headers.add(name: "X-Request-Id", value: id)  // no stage after this one sets it
            outcome.value = .response(response)
        }
        return outcome
    }
}
