import MCPClient
import MCPOAuth

/// Multi-user OAuth servers: the call runs in the caller's own upstream session, with the caller's own token. A
/// caller without a session is told where to sign in; one not yet authorized upstream gets the link. The proxy's
/// session cookie is renewed with every call, so a session lasts from its last use.
struct UserSession: CallStage {
    let address: PublicAddress

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        guard let binding = call.server.oauth, binding.multiUser else { return await next(call) }
        switch await binding.userUpstream(for: call.caller.session, base: address.base(of: call.request)) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let (identity, session)):
            var call = call
            call.upstream = session
            var outcome = await next(call)
            if let cookie = binding.renewedCookie(for: identity) {
                outcome.headers.add(name: "Set-Cookie", value: cookie)
            }
            return outcome
        }
    }
}

extension OAuthBinding {
    /// The upstream session of a multi-user server's caller (`identity` nil: no session presented), or why there is
    /// none: where to sign in, or the link to authorize the proxy for the caller. `base` is the proxy's address as the
    /// caller reached it.
    func userUpstream(for identity: SessionIdentity?, base: String) async
        -> Result<(SessionIdentity, any ToolUpstream), CallFailure>
    {
        guard let identity else {
            let link = base + OAuthRoute.urlPath(server: name, kind: .authorize)
            return .failure(.signInRequired(server: name, authorizeURL: link))
        }
        let callback = base + OAuthRoute.urlPath(server: name, kind: .callback)
        if let failure = await authorizationFailure(for: identity.userID, redirectURI: callback) {
            return .failure(failure)
        }
        guard let session = session(for: identity.userID) else {
            return .failure(.upstream(server: name, .unavailable(reason: "the proxy is shutting down")))
        }
        return .success((identity, session))
    }
}
