import Crypto
import Foundation
import JSONValue
import MCPOAuth
import MCPOConfig

/// Open WebUI's `X-OpenWebUI-User-Jwt`: an HS256 JWT, signed with `FORWARD_USER_INFO_HEADER_JWT_SECRET`, naming the
/// user behind an Open WebUI that called with an API key (`sub`, `email`, `name`, `role`; `iss` `open-webui` when
/// given; `exp` required). The user's scopes are the key's, narrowed by the scopes of the user's role (a role with
/// none configured gets none). The header alone is no credential.
struct OpenWebUIUserHeader: Sendable {
    static let name = "X-OpenWebUI-User-Jwt"

    let settings: OpenWebUIUserSettings
    private let key: SymmetricKey

    init(settings: OpenWebUIUserSettings) {
        self.settings = settings
        self.key = SymmetricKey(data: Array(settings.userJwtSecret.utf8))
    }

    /// `caller` (a key's) as the user the header names; why not, when the header does not verify.
    func user(_ header: String, of caller: CallerIdentity, now: Date = Date()) -> Result<CallerIdentity, IdentityError>
    {
        let claims: JSON
        do {
            claims = try HS256JWT.verify(header, key: key)
        } catch {
            return .failure(.invalidToken("the \(Self.name) header does not verify: \(error)"))
        }
        if let issuer = claims["iss"], issuer.stringValue != "open-webui" {
            return .failure(.invalidToken("the \(Self.name) header is not Open WebUI's (iss)"))
        }
        guard let exp = claims["exp"]?.doubleValue, exp.isFinite else {
            return .failure(.invalidToken("the \(Self.name) header has no expiry (exp)"))
        }
        guard now.timeIntervalSince1970 < exp + 60 else {
            return .failure(.invalidToken("the \(Self.name) header has expired"))
        }
        guard let user = IssuerVerifier.text(claims["sub"]) ?? IssuerVerifier.text(claims["id"]) else {
            return .failure(.invalidToken("the \(Self.name) header names no user (sub)"))
        }
        let role = claims["role"]?.stringValue ?? ""
        var identity = caller
        identity.user = user
        identity.claims = claims
        identity.scopes = caller.scopes.narrowed(by: settings.roleScopes[role] ?? [])
        return .success(identity)
    }
}
