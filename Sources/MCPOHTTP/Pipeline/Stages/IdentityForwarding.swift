import MCPOIdentity

/// What a remote server learns of the caller, where its entry asks: `forwardHeaders` filled from the verified
/// identity (a value that would be empty, or hold a line break, is not sent), and with `forwardToken` the caller's
/// own JWT, only when its `aud` names the server's audience. API keys never go upstream; the caller's own headers are
/// never copied.
struct IdentityForwarding: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let access = call.server.entry.access
        guard !access.forwardHeaders.isEmpty || access.forwardTokenAudience != nil else { return await next(call) }
        var call = call
        let identity = call.caller.identity
        for (name, template) in access.forwardHeaders {
            if let value = IdentityTemplate.render(template, for: identity) {
                call.forwardedHeaders.append((name, value))
            }
        }
        if let audience = access.forwardTokenAudience {
            guard let token = identity.token else {
                return .failure(
                    .refused(
                        detail: "MCP server '\(call.server.name)' takes the caller's own token, and this call has none "
                            + "(an API key is never sent upstream)"))
            }
            guard identity.audiences.contains(audience) else {
                return .failure(
                    .refused(
                        detail:
                            "MCP server '\(call.server.name)' takes only tokens for \(audience); the caller's token is "
                            + "for \(identity.audiences.joined(separator: ", "))"))
            }
            call.forwardedHeaders.append(("Authorization", "Bearer " + token))
        }
        return await next(call)
    }
}
