/// Who calls: a credential where one is needed (an API key, or a JWT from a configured issuer, with Open WebUI's user
/// header beside a key); for a multi-user OAuth server, the user's session JWT beside the key.
struct Authentication: CallStage {
    let credentials: CredentialCheckStore
    let address: PublicAddress

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let check = credentials.check
        let multiUser = call.server.oauth?.multiUser == true
        guard multiUser || check.guards(toolRoute: true) else { return await next(call) }
        var call = call
        if let binding = call.server.oauth, multiUser {
            switch await binding.identify(
                call.request, check: check, address: address, keyRequired: check.guards(toolRoute: true))
            {
            case .denied(let failure):
                return .failure(failure)
            case .anonymous(let identity):
                call.caller = Caller(identity: identity)
            case .user(let identity, let session):
                call.caller = Caller(identity: identity, session: session)
            }
        } else {
            switch await check.authenticate(call.request, address: address) {
            case .success(let identity): call.caller = Caller(identity: identity)
            case .failure(let failure): return .failure(failure)
            }
        }
        call.trail?.identify(call.caller.identity)
        var outcome = await next(call)
        // The stages before this one (the answer's) know the caller only from here.
        outcome.callerName = call.caller.identity.name
        return outcome
    }
}
