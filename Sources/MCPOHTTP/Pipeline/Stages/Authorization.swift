import MCPOIdentity

/// The caller's scopes against what the tool needs (the server's `toolScopes`, first matching glob): 403 with the
/// scopes needed when they do not cover it. A tool no entry matches, or a proxy without credentials, needs none.
struct Authorization: CallStage {
    let credentials: CredentialCheckStore

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let needed = call.server.toolScopes.requiredScopes(for: call.tool.name)
        guard !needed.isEmpty else { return await next(call) }
        let missing = call.caller.identity.scopes.missing(needed)
        guard missing.isEmpty else {
            return .failure(credentials.check.insufficientScope(missing, needed: needed, tool: call.tool.name))
        }
        return await next(call)
    }
}
