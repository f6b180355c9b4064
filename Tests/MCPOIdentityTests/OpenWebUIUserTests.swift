import Crypto
import Foundation
import JSONValue
import Logging
import MCPOAuth
import MCPOConfig
import Testing

@testable import MCPOIdentity

/// Open WebUI's `X-OpenWebUI-User-Jwt` beside an API key, as Open WebUI signs it (HS256 with
/// `FORWARD_USER_INFO_HEADER_JWT_SECRET`; `iss` open-webui, `sub`, `email`, `name`, `role`, `exp`).
@Suite("Open WebUI's user header")
struct OpenWebUIUserTests {
    static let secret = "owui-forward-secret"
    let authenticator = CallerAuthenticator(
        config: AuthConfig(
            apiKeys: [NamedAPIKey(name: "owui", secret: .plain("owui-key"), scopes: ["kitchen:*", "time:read"])],
            openWebUI: OpenWebUIUserSettings(
                userJwtSecret: OpenWebUIUserTests.secret,
                roleScopes: ["admin": ["*"], "user": ["*:read"]])),
        strict: false, logger: quietLogger)

    static func header(
        role: String = "user", secret: String = OpenWebUIUserTests.secret, issuer: String? = "open-webui",
        expiresIn: Double = 300, sub: String? = "user-42"
    ) -> String {
        var claims: JSON = [
            "email": "bob@example.com", "name": "Bob", "role": .string(role),
            "exp": .double(Date().timeIntervalSince1970 + expiresIn),
        ]
        if let issuer { claims["iss"] = .string(issuer) }
        if let sub { claims["sub"] = .string(sub) }
        return HS256JWT.sign(claims, key: SymmetricKey(data: Array(secret.utf8)))
    }

    func caller(_ header: String?, key: String = "owui-key") async -> Result<CallerIdentity, IdentityError> {
        await authenticator.authenticate(authorization: "Bearer \(key)", openWebUIUser: header)
    }

    @Test("the header names the user; the user's scopes are the key's narrowed by the role's")
    func narrowedUser() async throws {
        let user = try await caller(Self.header(role: "user")).get()
        #expect(user.user == "user-42")
        #expect(user.keyName == "owui")
        #expect(user.claims?["email"] == "bob@example.com")
        #expect(user.scopes.allows("kitchen:read"))
        #expect(user.scopes.allows("time:read"))
        #expect(!user.scopes.allows("kitchen:write"))
        let admin = try await caller(Self.header(role: "admin")).get()
        #expect(admin.scopes.allows("kitchen:write"))
        #expect(!admin.scopes.allows("weather:read"), "never beyond the key's own scopes")
        let stranger = try await caller(Self.header(role: "pending")).get()
        #expect(!stranger.scopes.allows("kitchen:read"), "a role without scopes gets none")
    }

    @Test("without the header the key's caller is the key")
    func keyAlone() async throws {
        let caller = try await caller(nil).get()
        #expect(caller.user == "owui")
        #expect(caller.scopes.allows("kitchen:write"))
    }

    @Test("a header that does not verify is 401 with the reason: another secret, expired, not Open WebUI's, no user")
    func refused() async {
        for (header, reason) in [
            (Self.header(secret: "another"), "does not verify"),
            (Self.header(expiresIn: -120), "has expired"),
            (Self.header(issuer: "someone-else"), "not Open WebUI's"),
            (Self.header(sub: nil), "names no user"),
            ("not-a-jwt", "does not verify"),
        ] {
            guard case .failure(.invalidToken(let why)) = await caller(header) else {
                Issue.record("accepted: \(reason)")
                continue
            }
            #expect(why.contains(reason), "\(why)")
            #expect(!why.contains(header) || header == "not-a-jwt")
        }
    }

    @Test("the header alone is no credential; with a wrong key it is 403 as before")
    func headerIsNoCredential() async {
        let alone = await authenticator.authenticate(authorization: nil, openWebUIUser: Self.header())
        #expect(alone == .failure(.missingCredential))
        #expect(await caller(Self.header(), key: "wrong") == .failure(.unknownAPIKey(detail: "Invalid API key")))
    }
}
