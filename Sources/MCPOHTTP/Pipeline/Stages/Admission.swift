import Logging

/// The server's bound on calls at once (`maxConcurrentCalls`) and on calls waiting (`--max-queued-calls`): a call
/// takes a slot, waits for one in arrival order, or gets 503 when the queue is full too. While it holds a slot the
/// call counts as in flight (a reload or a removal waits for it).
struct Admission: CallStage {
    let logger: Logger

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let server = call.server
        // The common case takes a free slot without a suspension point.
        let entry =
            server.gate.tryEnter() ? .admitted : await server.gate.enter(until: call.request.connection.clientLeft)
        switch entry {
        case .admitted:
            break
        case .refused:
            return .failure(
                .overloaded(server: server.name, running: server.gate.limit, queued: server.gate.queueLimit))
        case .left:
            logger.info(
                "the HTTP client of \(server.name)/\(call.tool.name) went away while its call waited for a slot")
            return .failure(.clientLeft)
        }
        defer { server.gate.leave() }
        return await server.counting { await next(call) }
    }
}
