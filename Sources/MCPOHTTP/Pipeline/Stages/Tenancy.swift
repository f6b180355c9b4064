import MCPOIdentity

/// A server reached at one URL per tenant (`{tenant}` in its `url`): the caller's tenant (the identity's tenant
/// claim, or the server's `tenantHeader`), checked, and that tenant's own upstream session. 400 without a tenant or
/// with one outside `[A-Za-z0-9._-]{1,64}`.
struct Tenancy: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        guard let tenants = call.server.tenants else { return await next(call) }
        switch tenants.tenant(of: call.request, identity: call.caller.identity) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let tenant):
            let outcome = await tenants.using(tenant) { session in
                var call = call
                call.upstream = session
                call.caller.identity.tenant = tenant
                call.trail?.identify(call.caller.identity)
                return await next(call)
            }
            return outcome
                ?? .failure(.upstream(server: call.server.name, .unavailable(reason: "the proxy is shutting down")))
        }
    }
}
