import Foundation
import JSONValue
import JWTKit
import MCPOConfig

/// Verifies the tokens of one issuer completely: the algorithm is in the allow-list and fits the key, the signature
/// checks out against the issuer's key (jwt-kit), `iss` is exactly the issuer, `aud` names one of the audiences,
/// `exp` is there and not passed, `nbf` and `iat` are not in the future, all within the leeway. The identity is then
/// the user claim, the scopes from the scopes claim and the roles, the tenant from the tenant claim.
struct IssuerVerifier: Sendable {
    let settings: JWTIssuerSettings
    let keys: IssuerKeys

    var algorithms: [String] { settings.algorithms ?? JWTIssuerSettings.asymmetricAlgorithms }

    func verify(_ token: CompactJWT, now: Date = Date()) async -> Result<(CallerIdentity, expiry: Date), IdentityError>
    {
        guard let algorithm = token.algorithm else { return .failure(.invalidToken("the token names no algorithm")) }
        guard algorithms.contains(algorithm) else {
            return .failure(.invalidToken("the token's algorithm \(algorithm) is not accepted"))
        }
        if let critical = token.header["crit"], !critical.isNull {
            return .failure(.invalidToken("the token has critical header parameters the proxy does not know"))
        }
        let keySet: KeySet
        switch await keys.keys(for: token.keyID) {
        case .success(let set): keySet = set
        case .failure(let error): return .failure(error)
        }
        guard let key = keySet.key(for: token.keyID, algorithm: algorithm) else {
            return .failure(.invalidToken("the token names an unknown key"))
        }
        guard key.fits(algorithm) else {
            return .failure(.invalidToken("the token's algorithm \(algorithm) does not fit its key"))
        }
        do {
            let verifier = try await key.verifier(for: algorithm)
            _ = try await verifier.verify(token.raw, as: SignatureOnly.self)
        } catch {
            return .failure(.invalidToken("the token's signature does not verify"))
        }
        return checkClaims(token, now: now)
    }

    /// Everything after the signature: pure, so its rules are tested on their own.
    func checkClaims(_ token: CompactJWT, now: Date) -> Result<(CallerIdentity, expiry: Date), IdentityError> {
        let leeway = settings.leewaySeconds
        let time = now.timeIntervalSince1970
        guard token.issuer == settings.issuer else {
            return .failure(.invalidToken("the token's issuer is not \(settings.issuer)"))
        }
        guard token.audiences.contains(where: settings.audiences.contains) else {
            return .failure(
                .invalidToken(
                    "the token's audience is not accepted (expected \(settings.audiences.joined(separator: " or ")))"))
        }
        guard let exp = token.claims["exp"]?.doubleValue, exp.isFinite else {
            return .failure(.invalidToken("the token has no expiry (exp)"))
        }
        guard time < exp + leeway else { return .failure(.invalidToken("the token has expired")) }
        if let nbf = token.claims["nbf"], !nbf.isNull {
            guard let notBefore = nbf.doubleValue, time + leeway >= notBefore else {
                return .failure(.invalidToken("the token is not valid yet (nbf)"))
            }
        }
        if let iat = token.claims["iat"], !iat.isNull {
            guard let issuedAt = iat.doubleValue, issuedAt <= time + leeway else {
                return .failure(.invalidToken("the token was issued in the future (iat)"))
            }
        }
        guard let user = Self.text(token.claim(settings.userClaim)) else {
            return .failure(.invalidToken("the token has no \(settings.userClaim) claim naming its user"))
        }
        let subject = token.claims["sub"]?.stringValue ?? user
        var granted = scopes(of: token)
        if let rolesClaim = settings.rolesClaim {
            for role in Self.list(token.claim(rolesClaim)) { granted += settings.roleScopes[role] ?? [] }
        }
        let tenant = settings.tenantClaim.flatMap { Self.text(token.claim($0)) }
        let identity = CallerIdentity(
            credential: .token(issuer: settings.issuer, subject: subject), user: user, tenant: tenant,
            scopes: ScopeGrant(granted), claims: token.claims, token: token.raw, audiences: token.audiences)
        return .success((identity, Date(timeIntervalSince1970: exp)))
    }

    /// The scopes the token carries: the configured claim, else `scope` (space separated) or `scp`.
    private func scopes(of token: CompactJWT) -> [String] {
        if let claim = settings.scopesClaim { return Self.list(token.claim(claim)) }
        let scope = Self.list(token.claims["scope"])
        return scope.isEmpty ? Self.list(token.claims["scp"]) : scope
    }

    /// A claim as a list: an array of strings, or a space-separated string.
    static func list(_ value: JSON?) -> [String] {
        switch value {
        case .string(let text)?: text.split(separator: " ").map(String.init)
        case .array(let items)?: items.compactMap(\.stringValue)
        default: []
        }
    }

    /// A claim as text (a string, or a number).
    static func text(_ value: JSON?) -> String? {
        switch value {
        case .string(let text)? where !text.isEmpty: text
        case .number(let number)?: number.text
        default: nil
        }
    }
}

/// jwt-kit checks the signature; the claims are checked by `IssuerVerifier`, on the proxy's own JSON.
private struct SignatureOnly: JWTPayload {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
