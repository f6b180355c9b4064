import MCPClient
import MCPOIdentity

/// A path under a per-tenant server that has no tools yet (no tenant has connected): the caller authenticated, its
/// tenant's session started (which lists the tools and so makes the routes), and the request routed once more.
struct TenantMount {
    let server: MountedServer
    let tenants: TenantSessions
    let check: CredentialCheck
    let address: PublicAddress

    func respond(
        to request: ProxyRequest, retried: Bool, routeAgain: () async -> ProxyResponse
    ) async -> ProxyResponse {
        let unavailable = ProxyResponder.unavailable(server).response
        var identity = CallerIdentity.anonymous
        if check.guards(toolRoute: true) {
            switch await check.authenticate(request, address: address) {
            case .success(let caller): identity = caller
            case .failure(let failure): return failure.response
            }
        }
        switch tenants.tenant(of: request, identity: identity) {
        case .failure(let failure):
            return failure.response
        case .success(let tenant):
            guard !retried else { return unavailable }
            let started = await tenants.using(tenant) { session -> CallFailure? in
                do throws(MCPClientError) {
                    try await session.start()
                    return nil
                } catch {
                    return .upstream(server: server.name, error)
                }
            }
            guard let started else { return unavailable }
            if let failure = started { return failure.response }
            return await routeAgain()
        }
    }
}
