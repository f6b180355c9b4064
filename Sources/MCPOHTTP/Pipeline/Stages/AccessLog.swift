import Logging

/// The call's access log line (`POST /echo → server/echo 200 in 0.4 ms`), written after the answer left: the
/// caller does not wait for the log. Tool arguments are never logged: they may hold anything, secrets included.
struct AccessLog: CallStage {
    let logger: Logger
    /// JSON logs: the line carries its parts as fields too (method, path, server, tool, status, ms, request id).
    var structured = false

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let started = ContinuousClock.now
        let outcome = await next(call)
        guard logger.logLevel <= .info else { return outcome }
        let elapsed = ContinuousClock.now - started
        let line = Logger.Message(
            stringLiteral: call.request.method.rawValue + " " + call.request.path + " " + call.endpoint.logTarget + " "
                + (outcome.status.map(String.init) ?? "-") + " in " + Self.milliseconds(elapsed) + " ms")
        // Written once the connection's event loop is done sending the answer.
        guard structured else {
            call.request.connection.eventLoop.execute { [logger] in logger.info(line) }
            return outcome
        }
        var metadata: Logger.Metadata = [
            "method": .string(call.request.method.rawValue), "path": .string(call.request.path),
            "server": .string(call.server.name), "tool": .string(call.tool.name),
            "status": .stringConvertible(outcome.status ?? 0), "durationMs": .string(Self.milliseconds(elapsed)),
        ]
        if case .response(let response) = outcome.value, let id = response.headers.first(name: "x-request-id") {
            metadata["requestId"] = .string(id)
        }
        call.request.connection.eventLoop.execute { [logger, metadata] in logger.info(line, metadata: metadata) }
        return outcome
    }

    /// Milliseconds with one decimal, without Foundation's formatter (this runs for every call).
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components  // computed: a 128-bit division each time it is read
        let tenths = seconds * 10_000 + attoseconds / 100_000_000_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
