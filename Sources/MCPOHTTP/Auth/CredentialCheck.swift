import MCPOIdentity
import Synchronization

/// Which routes need a credential, who presents one, and how refusals are worded.
///
/// Tool routes need one whenever keys or issuers are configured; documents and pages only with `--strict-auth`
/// (which also takes Basic `<any user>:<key>`). With `--api-key` alone refusals are mcpo's (`WWW-Authenticate:
/// Bearer`); with an `auth` object they are RFC 6750's: `Bearer realm="mcpo"` (and `resource_metadata` of RFC 9728
/// when issuers are configured), `error="invalid_token"` with the reason, `error="insufficient_scope"` with the scopes.
final class CredentialCheck: Sendable {
    let authenticator: CallerAuthenticator
    let strict: Bool
    let rfc6750: Bool

    init(authenticator: CallerAuthenticator, strict: Bool, rfc6750: Bool) {
        self.authenticator = authenticator
        self.strict = strict
        self.rfc6750 = rfc6750
    }

    static let openWebUIUserHeader = "X-OpenWebUI-User-Jwt"

    /// Whether a route needs a credential: tool routes always, the others only in strict mode.
    func guards(toolRoute: Bool) -> Bool {
        authenticator.requiresCredentials && (toolRoute || strict)
    }

    /// The caller of `request`, or the refusal to answer.
    func authenticate(_ request: ProxyRequest, address: PublicAddress) async -> Result<CallerIdentity, CallFailure> {
        let result = await authenticator.authenticate(
            authorization: request.header("authorization"), openWebUIUser: request.header(Self.openWebUIUserHeader))
        switch result {
        case .success(let identity): return .success(identity)
        case .failure(let error): return .failure(refusal(error, request: request, address: address))
        }
    }

    /// The caller of a route guarded as tool routes are (the MCP endpoint, a caller's files): anonymous when no
    /// credential is configured.
    func caller(of request: ProxyRequest, address: PublicAddress) async -> Result<CallerIdentity, CallFailure> {
        guard guards(toolRoute: true) else { return .success(.anonymous) }
        return await authenticate(request, address: address)
    }

    func refusal(_ error: IdentityError, request: ProxyRequest, address: PublicAddress) -> CallFailure {
        switch error {
        case .missingCredential:
            return .unauthenticated(detail: error.description, challenge: challenge(request, address))
        case .unsupportedCredential(let detail):
            return .unauthenticated(detail: detail, challenge: challenge(request, address))
        case .unknownAPIKey(let detail):
            return .forbidden(detail: detail)
        case .invalidToken(let reason):
            let quoted = reason.replacingQuotes
            return .invalidToken(
                reason: reason,
                challenge: #"Bearer error="invalid_token", error_description=""# + quoted + "\""
                    + metadata(request, address))
        }
    }

    /// 403 for a caller whose scopes do not cover what the call needs.
    func insufficientScope(_ missing: [String], needed: [String], tool: String) -> CallFailure {
        .insufficientScope(
            detail:
                "The call of \(tool) needs the scope\(needed.count == 1 ? "" : "s") \(needed.joined(separator: ", ")); "
                + "the credential lacks \(missing.joined(separator: ", "))",
            required: needed,
            challenge: #"Bearer error="insufficient_scope", scope=""# + needed.joined(separator: " ") + "\"")
    }

    private func challenge(_ request: ProxyRequest, _ address: PublicAddress) -> String {
        guard rfc6750 else { return strict ? "Bearer, Basic" : "Bearer" }
        return #"Bearer realm="mcpo""# + metadata(request, address) + (strict ? ", Basic" : "")
    }

    /// `, resource_metadata="<the RFC 9728 document>"` when issuers are configured.
    private func metadata(_ request: ProxyRequest, _ address: PublicAddress) -> String {
        guard authenticator.hasIssuers else { return "" }
        return #", resource_metadata=""# + address.base(of: request) + ProtectedResourceMetadata.path + "\""
    }
}

/// The check in force: replaced whole when a reload changes `auth`, read once per request.
final class CredentialCheckStore: Sendable {
    private let current: Mutex<CredentialCheck>

    init(_ check: CredentialCheck) {
        current = Mutex(check)
    }

    var check: CredentialCheck { current.withLock { $0 } }

    /// Swaps in `check`; returns the one it replaces (to be shut down).
    func replace(with check: CredentialCheck) -> CredentialCheck {
        current.withLock { current in
            defer { current = check }
            return current
        }
    }
}

extension String {
    /// For a quoted-string in a header: quotes and backslashes become apostrophes and slashes.
    fileprivate var replacingQuotes: String {
        String(unicodeScalars.map { $0 == "\"" ? "'" : $0 == "\\" ? "/" : Character($0) })
    }
}
