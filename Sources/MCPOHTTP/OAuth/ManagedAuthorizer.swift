import JSONValue
import MCPClient
import MCPOAuth

/// The `Authorization` of one upstream session, from the server's `TokenManager`: the proxy's own tokens
/// (single user, `user` nil) or one user's (multi-user). Never starts an authorization before the server asked
/// for one (a request without a token gets the 401 whose challenge guides discovery), and maps every OAuth
/// failure to the client's errors: a link to open becomes `.authorizationRequired` (answered 401 with it).
struct ManagedAuthorizer: UpstreamAuthorizer {
    let binding: OAuthBinding
    let user: String?

    private var manager: TokenManager { binding.manager }

    func authorization() async throws(MCPClientError) -> String? {
        if manager.settings.grant == .clientCredentials { return try await bearer() }
        switch await manager.status(for: user) {
        case .authorized:
            return try await bearer()
        case .pending(let prompt):
            throw binding.clientError(.authorizationRequired(prompt))
        case .needsAuthorization:
            return nil
        }
    }

    func unauthorized(failed: String?, wwwAuthenticate: [String]) async throws(MCPClientError) -> String {
        do {
            let token = try await manager.handleUnauthorized(
                for: user, failedToken: Self.token(of: failed), wwwAuthenticate: wwwAuthenticate)
            return "Bearer " + token
        } catch {
            throw binding.clientError(error)
        }
    }

    func forbidden(failed: String?, wwwAuthenticate: [String]) async throws(MCPClientError) -> String {
        do {
            let token = try await manager.handleInsufficientScope(
                for: user, failedToken: Self.token(of: failed), wwwAuthenticate: wwwAuthenticate)
            return "Bearer " + token
        } catch {
            throw binding.clientError(error)
        }
    }

    func authorizationChanged() async {
        let events = await manager.events()
        if case .authorized = await manager.status(for: user) { return }
        for await event in events {
            switch event {
            case .authorized(let who) where who == user: return
            case .authorizationFailed(let who, _) where who == user: return
            default: continue
            }
        }
    }

    private func bearer() async throws(MCPClientError) -> String {
        do {
            return "Bearer " + (try await manager.accessToken(for: user))
        } catch {
            throw binding.clientError(error)
        }
    }

    private static func token(of authorization: String?) -> String? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        return String(authorization.dropFirst(7))
    }
}
