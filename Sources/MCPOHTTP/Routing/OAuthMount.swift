import MCPClient
import MCPOAuth

/// A path under an OAuth server that has no tools yet: 401 with the link while the proxy (or, multi-user, the caller)
/// is not authorized. A multi-user server's authorized caller gets their session started, which lists the tools and
/// so makes the routes; the request is then routed once more.
struct OAuthMount {
    let server: MountedServer
    let binding: OAuthBinding
    let check: CredentialCheck
    let address: PublicAddress

    func respond(
        to request: ProxyRequest, retried: Bool, routeAgain: () async -> ProxyResponse
    ) async -> ProxyResponse {
        let unavailable = ProxyResponder.unavailable(server).response
        guard binding.multiUser else {
            if check.guards(toolRoute: true),
                case .failure(let failure) = await check.authenticate(request, address: address)
            {
                return failure.response
            }
            if let failure = await binding.authorizationFailure(for: nil, redirectURI: nil) {
                return failure.response
            }
            return unavailable
        }
        let identity: SessionIdentity?
        switch await binding.identify(
            request, check: check, address: address, keyRequired: check.guards(toolRoute: true))
        {
        case .denied(let failure): return failure.response
        case .anonymous: identity = nil
        case .user(_, let session): identity = session
        }
        switch await binding.userUpstream(for: identity, base: address.base(of: request)) {
        case .failure(let failure):
            return failure.response
        case .success(let (_, session)):
            guard !retried else { return unavailable }
            do {
                try await session.start()
            } catch {
                return CallFailure.upstream(server: server.name, error).response
            }
            return await routeAgain()
        }
    }
}
