/// The server's `rateLimit`: per caller for the server (`perCaller`) and per caller for a tool (`tools`), token
/// buckets counted by this replica; beyond them 429 with `Retry-After`.
struct RateLimiting: CallStage {
    let limiter: RateLimiter

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let governance = call.server.entry.governance
        let tool = call.tool.name
        let refusal = limiter.take(
            caller: call.caller.identity.name, server: call.server.name, tool: tool,
            serverLimit: governance.perCallerLimit, toolLimit: governance.toolLimits[tool])
        guard let refusal else { return await next(call) }
        let scope = refusal.perTool ? "\(call.server.name)/\(tool)" : call.server.name
        return .failure(
            .rateLimited(
                detail: "Rate limit of \(refusal.limit) for \(scope) reached; retry in \(refusal.retryAfterSeconds) s",
                retryAfterSeconds: refusal.retryAfterSeconds))
    }
}
