import W3CTraceContext

/// A request's W3C trace context (`traceparent`, `tracestate`), checked with the W3C trace context library: passed
/// on with the call (as headers to remote servers, in `_meta` to every server) and its trace id kept in the audit
/// record. A malformed `traceparent` is dropped, with its `tracestate`.
struct TraceParent: Sendable, Equatable {
    let traceparent: String
    let tracestate: String?
    let traceID: String

    init?(traceparent: String?, tracestate: String?) {
        guard let traceparent, let context = try? TraceContext(traceParentHeaderValue: traceparent) else {
            return nil
        }
        self.traceparent = traceparent
        self.tracestate = tracestate.flatMap { $0.isEmpty || $0.utf8.count > 512 ? nil : $0 }
        self.traceID = context.traceID.description
    }

    /// The headers for a remote server.
    var headers: [(name: String, value: String)] {
        var headers = [(name: "traceparent", value: traceparent)]
        if let tracestate { headers.append((name: "tracestate", value: tracestate)) }
        return headers
    }
}
