/// Who calls: an API key where one is needed (`--api-key`: 401 without a credential, 403 with a wrong one); for a
/// multi-user OAuth server, the user's session JWT (Open WebUI's, or the proxy's own cookie) beside the key.
struct Authentication: CallStage {
    let keys: APIKeyAuthenticator

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        var call = call
        if let binding = call.server.oauth, binding.multiUser {
            switch binding.identify(call.request, keys: keys, keyRequired: keys.guards(toolRoute: true)) {
            case .denied(let failure):
                return .failure(failure)
            case .anonymous:
                break
            case .user(let identity):
                call.caller = Caller(credential: .session(identity))
            }
        } else if keys.guards(toolRoute: true) {
            switch keys.authenticate(authorization: call.request.header("authorization")) {
            case .success(let caller): call.caller = caller
            case .failure(let failure): return .failure(failure)
            }
        }
        return await next(call)
    }
}
