import NIOHTTP1

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

/// The request headers recording reads, found in one pass over them (names matched case-insensitively).
struct CallHeaders: Equatable {
    var requestID: String?
    var traceparent: String?
    var tracestate: String?
}

extension CallHeaders {
    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            // The first of each, as `HTTPHeaders.first(name:)` would find it.
            if requestID == nil, Self.name(name, is: "x-request-id") {
                requestID = value
            } else if traceparent == nil, Self.name(name, is: "traceparent") {
                traceparent = value
            } else if tracestate == nil, Self.name(name, is: "tracestate") {
                tracestate = value
            }
        }
    }

    /// Whether `name` is `lowercase` in any case (ASCII).
    static func name(_ name: String, is lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(name.utf8, expected).allSatisfy { given, wanted in
                given == wanted || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(given) && given | 0x20 == wanted
            }
        }
    }
}
