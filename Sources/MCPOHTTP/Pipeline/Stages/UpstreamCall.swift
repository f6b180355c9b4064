import JSONValue
import Logging
import MCPClient

/// The call itself, through the session chosen for it. Retries and reconnects are the MCP client's. When the HTTP
/// client goes away first, the call is cancelled upstream (a call still waiting for a slot is never sent). The
/// request's W3C trace context goes with it: as headers (which only remote servers receive) and in `_meta`.
struct UpstreamCall: CallStage {
    let logger: Logger

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let cancellation = call.request.connection.clientLeft
        let arguments = call.arguments
        var request = ToolCallRequest(
            name: call.tool.name, arguments: arguments?.value ?? [:], argumentsText: arguments?.text,
            timeout: call.timeout, onProgress: call.onProgress, cancellation: cancellation,
            headers: call.forwardedHeaders)
        let trace =
            call.trace
            ?? TraceParent(
                traceparent: call.request.header("traceparent"), tracestate: call.request.header("tracestate"))
        if let trace {
            request.headers += trace.headers
            var meta = request.meta ?? OrderedJSONObject()
            meta["traceparent"] = .string(trace.traceparent)
            if let tracestate = trace.tracestate { meta["tracestate"] = .string(tracestate) }
            request.meta = meta
        }
        let outcome: CallOutcome
        do {
            outcome = .result(try await call.upstream.callTool(request))
        } catch {
            outcome = .failure(.upstream(server: call.server.name, error))
        }
        guard cancellation.isCancelled else { return outcome }
        logger.info("the HTTP client of \(call.server.name)/\(call.tool.name) went away; the call was cancelled")
        return .failure(.clientLeft)
    }
}
