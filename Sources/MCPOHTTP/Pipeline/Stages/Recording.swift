/// Every call that reaches a tool route is recorded (audit log, metrics) whatever becomes of it: this stage gives
/// the call its request id (the caller's `X-Request-Id` when it is a sane token) and its W3C trace context, and,
/// with `audit.required`, refuses calls while the audit log cannot be written. The record itself is made when the
/// call concludes (`CallTrail`); the answer carries the id (`Answer`, or the refusal here).
struct Recording: CallStage {
    let services: GovernanceServices

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let given = CallHeaders(call.request.headers)
        let id = given.requestID.flatMap { RequestIDs.isSane($0) ? $0 : nil } ?? services.requestIDs.next()
        let trace = given.traceparent.flatMap { TraceParent(traceparent: $0, tracestate: given.tracestate) }
        let trail = CallTrail(
            id: id, traceID: trace?.traceID, endpoint: call.endpoint, body: call.request.body, services: services)
        if let writer = services.auditWriter, writer.settings.required, !writer.isHealthy {
            let failure = CallFailure.auditUnavailable
            var response = failure.response
            if case .bytes(let body) = response.body {
                await trail.conclude(.failure(failure), status: failure.status, body: body.readableBytesView)
            }
            response.headers.add(name: "X-Request-Id", value: id)
            return .response(response)
        }
        var call = call
        call.trail = trail
        call.trace = trace
        return await next(call)
    }
}
