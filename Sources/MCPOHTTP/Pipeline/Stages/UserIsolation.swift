/// `isolation: user`: the call runs in the caller's own server process (started on the caller's first call).
struct UserIsolation: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        guard let users = call.server.users else { return await next(call) }
        return await users.using(call.caller.identity) { process in
            var call = call
            call.upstream = process
            return await next(call)
        }
    }
}
