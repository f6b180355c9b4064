import Foundation
import JSONValue
import Logging
import MCPOConfig
import Synchronization
import TestSupport
import Testing

@testable import MCPOIdentity

/// A clock the key caches decide by, moved by the test (token times stay real).
final class MovingClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = Mutex(Duration.zero)

    var now: ContinuousClock.Instant { start + offset.withLock { $0 } }

    func advance(_ duration: Duration) {
        offset.withLock { $0 += duration }
    }
}

/// Tokens from the identity provider fixture (real keys, real HTTP) through the authenticator the proxy uses.
@Suite("JWT bearer tokens against a real identity provider")
struct TokenVerificationTests {
    static func settings(
        _ idp: IdentityProviderFixture, jwksURI: Bool = true, _ change: (inout JWTIssuerSettings) -> Void = { _ in }
    ) -> JWTIssuerSettings {
        var settings = JWTIssuerSettings(
            issuer: idp.issuer, audiences: ["mcpo"], jwksURI: jwksURI ? idp.jwksURL : nil)
        change(&settings)
        return settings
    }

    static func authenticator(
        _ issuers: [JWTIssuerSettings], keys: [NamedAPIKey] = [], clock: MovingClock = MovingClock()
    ) -> CallerAuthenticator {
        CallerAuthenticator(
            config: AuthConfig(apiKeys: keys, jwtIssuers: issuers), strict: false, logger: quietLogger,
            keyClock: { clock.now }, keyRetryDelay: nil)
    }

    static func withIdP<T>(
        _ flags: [String] = [], _ body: (IdentityProviderFixture) async throws -> T
    ) async throws -> T {
        let idp = try await IdentityProviderFixture.start(flags)
        do {
            let result = try await body(idp)
            await idp.stop()
            return result
        } catch {
            await idp.stop()
            throw error
        }
    }

    static var now: Double { Date().timeIntervalSince1970 }

    /// The refusal's reason, or nil when the token was accepted.
    static func refusal(_ result: Result<CallerIdentity, IdentityError>) -> String? {
        guard case .failure(let error) = result else { return nil }
        return error.description
    }

    @Test("every asymmetric algorithm verifies: RS256…512, PS256…512, ES256, ES384, EdDSA")
    func algorithms() async throws {
        try await Self.withIdP(["--omit-jwk-alg"]) { idp in
            let authenticator = Self.authenticator([Self.settings(idp)])
            defer { Task { await authenticator.shutdown() } }
            for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"] {
                let token = try await idp.token(alg: alg, claims: ["scope": "kitchen:read time:*"])
                let caller = try await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil)
                    .get()
                #expect(caller.user == "alice", "\(alg)")
                #expect(caller.issuer == idp.issuer)
                #expect(caller.scopes.allows("kitchen:read"))
                #expect(caller.scopes.allows("time:zone"))
                #expect(!caller.scopes.allows("kitchen:write"))
                #expect(caller.token == token)
            }
        }
    }

    @Test("the algorithm must be in the allow-list and fit the key; none and HMAC are refused")
    func algorithmRules() async throws {
        try await Self.withIdP { idp in
            let onlyES = Self.authenticator([Self.settings(idp) { $0.algorithms = ["ES256"] }])
            let all = Self.authenticator([Self.settings(idp)])
            defer {
                Task {
                    await onlyES.shutdown()
                    await all.shutdown()
                }
            }
            let rs256 = try await idp.token(alg: "RS256")
            #expect(
                Self.refusal(await onlyES.authenticate(authorization: "Bearer " + rs256, openWebUIUser: nil))
                    == "the token's algorithm RS256 is not accepted")
            #expect(
                Self.refusal(
                    await onlyES.authenticate(
                        authorization: "Bearer " + (try await idp.token(alg: "ES256")), openWebUIUser: nil)) == nil)
            // The JWK says RS256: an RS384 signature by the same key is refused.
            let rs384 = try await idp.token(alg: "RS384")
            #expect(
                Self.refusal(await all.authenticate(authorization: "Bearer " + rs384, openWebUIUser: nil))
                    == "the token's algorithm RS384 does not fit its key")
            let none = try await idp.token(alg: "none")
            #expect(
                Self.refusal(await all.authenticate(authorization: "Bearer " + none, openWebUIUser: nil))
                    == "the token's algorithm none is not accepted")
            let confused = try await idp.token(alg: "HS256-with-public-key")
            #expect(
                Self.refusal(await all.authenticate(authorization: "Bearer " + confused, openWebUIUser: nil))
                    == "the token's algorithm HS256 is not accepted")
            let tampered = try await idp.token(alg: "ES256", tamper: true)
            #expect(
                Self.refusal(await all.authenticate(authorization: "Bearer " + tampered, openWebUIUser: nil))
                    == "the token's signature does not verify")
        }
    }

    @Test("iss exact, aud one of the audiences, exp required and not passed, nbf and iat honoured, with the leeway")
    func claimRules() async throws {
        try await Self.withIdP { idp in
            let authenticator = Self.authenticator([
                Self.settings(idp) {
                    $0.audiences = ["mcpo", "other"]
                    $0.leewaySeconds = 60
                }
            ])
            defer { Task { await authenticator.shutdown() } }
            func check(_ claims: JSON) async -> String? {
                do {
                    let token = try await idp.token(alg: "ES256", claims: claims)
                    return Self.refusal(
                        await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil))
                } catch {
                    return "the fixture failed: \(error)"
                }
            }
            // Each time is taken as its token is made: a check that waits on a busy machine does not age the next one.
            #expect(await check([:]) == nil)
            #expect(await check(["aud": ["x", "other"]]) == nil, "one of a list of audiences is enough")
            #expect(await check(["aud": "x"])?.contains("audience is not accepted (expected mcpo or other)") == true)
            #expect(await check(["aud": nil])?.contains("audience is not accepted") == true)
            #expect(await check(["iss": .string(idp.issuer + "/")]) == "the token's issuer is unknown")
            #expect(await check(["exp": nil]) == "the token has no expiry (exp)")
            #expect(await check(["exp": .double(Self.now - 120)]) == "the token has expired")
            #expect(await check(["exp": .double(Self.now - 30)]) == nil, "within the leeway")
            #expect(await check(["nbf": .double(Self.now + 300)]) == "the token is not valid yet (nbf)")
            #expect(await check(["nbf": .double(Self.now + 30)]) == nil, "within the leeway")
            #expect(await check(["iat": .double(Self.now + 300)]) == "the token was issued in the future (iat)")
            #expect(await check(["sub": nil]) == "the token has no sub claim naming its user")
        }
    }

    @Test("the user, scopes, roles and tenant come from the configured claims (dotted paths too)")
    func claimMapping() async throws {
        try await Self.withIdP { idp in
            let keycloak = Self.authenticator([
                Self.settings(idp) {
                    $0.userClaim = "preferred_username"
                    $0.tenantClaim = "org.tenant"
                    $0.rolesClaim = "realm_access.roles"
                    $0.roleScopes = ["admin": ["*"], "viewer": ["*:read"]]
                }
            ])
            let scp = Self.authenticator([Self.settings(idp) { $0.scopesClaim = "permissions" }])
            defer {
                Task {
                    await keycloak.shutdown()
                    await scp.shutdown()
                }
            }
            let token = try await idp.token(
                alg: "RS256",
                claims: [
                    "preferred_username": "alice.a", "org": ["tenant": "acme"],
                    "realm_access": ["roles": ["viewer", "unknown"]], "scope": "combos:write",
                ])
            let caller = try await keycloak.authenticate(authorization: "Bearer " + token, openWebUIUser: nil).get()
            #expect(caller.user == "alice.a")
            #expect(caller.tenant == "acme")
            #expect(caller.name == "\(idp.issuer)#alice")
            #expect(caller.scopes.allows("combos:write"))
            #expect(caller.scopes.allows("kitchen:read"), "from the viewer role")
            #expect(!caller.scopes.allows("kitchen:write"))

            let array = try await idp.token(alg: "RS256", claims: ["permissions": ["a:b", "c:*"], "scope": "x:y"])
            let other = try await scp.authenticate(authorization: "Bearer " + array, openWebUIUser: nil).get()
            #expect(other.scopes.allows("a:b"))
            #expect(other.scopes.allows("c:d"))
            #expect(!other.scopes.allows("x:y"), "only the configured claim counts")

            let scpArray = try await idp.token(
                alg: "RS256", claims: ["scope": nil, "scp": ["q:r"], "preferred_username": "a"])
            let fromSCP = try await keycloak.authenticate(authorization: "Bearer " + scpArray, openWebUIUser: nil)
                .get()
            #expect(fromSCP.scopes.allows("q:r"), "scp when there is no scope")
        }
    }

    @Test("keys found through OpenID discovery; fetched once for many tokens, kept as Cache-Control says")
    func discoveryAndCaching() async throws {
        try await Self.withIdP(["--max-age", "600"]) { idp in
            let clock = MovingClock()
            let authenticator = Self.authenticator([Self.settings(idp, jwksURI: false)], clock: clock)
            defer { Task { await authenticator.shutdown() } }
            try await idp.resetCounts()
            let (es256, rs256) = (try await idp.token(alg: "ES256"), try await idp.token(alg: "RS256"))
            async let first = authenticator.authenticate(authorization: "Bearer " + es256, openWebUIUser: nil)
            async let second = authenticator.authenticate(authorization: "Bearer " + rs256, openWebUIUser: nil)
            #expect(Self.refusal(await first) == nil)
            let secondRefusal = Self.refusal(await second)
            #expect(secondRefusal == nil, "\(secondRefusal ?? "")")
            var fetches = try await idp.fetches()
            #expect(fetches.discovery == 1)
            #expect(fetches.jwks == 1, "one fetch however many tokens wait for it")

            clock.advance(.seconds(599))
            #expect(
                Self.refusal(
                    await authenticator.authenticate(
                        authorization: "Bearer " + (try await idp.token(alg: "EdDSA")), openWebUIUser: nil)) == nil)
            #expect(try await idp.fetches().jwks == 1, "fresh for max-age")
            clock.advance(.seconds(2))
            #expect(
                Self.refusal(
                    await authenticator.authenticate(
                        authorization: "Bearer " + (try await idp.token(alg: "ES384")), openWebUIUser: nil)) == nil)
            fetches = try await idp.fetches()
            #expect(fetches.jwks == 2, "stale after max-age: fetched again")
        }
    }

    @Test("an unknown kid before and after rotation: refused, fetched again at most once per 10 s, then picked up")
    func rotation() async throws {
        try await Self.withIdP { idp in
            let clock = MovingClock()
            let authenticator = Self.authenticator([Self.settings(idp)], clock: clock)
            defer { Task { await authenticator.shutdown() } }
            func check(_ token: String) async -> String? {
                Self.refusal(await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil))
            }
            #expect(await check(try await idp.token(alg: "ES256")) == nil)
            try await idp.resetCounts()
            clock.advance(.seconds(10))
            // Forged kids: the first makes the keys be fetched again, the rest within 10 s fetch nothing.
            for index in 0..<20 {
                #expect(
                    await check(try await idp.token(alg: "ES256", kid: "forged-\(index)"))
                        == "the token names an unknown key")
            }
            #expect(try await idp.fetches().jwks == 1)

            try await idp.rotate(keepPrevious: false)
            let rotated = try await idp.token(alg: "ES256")
            #expect(await check(rotated) == "the token names an unknown key", "looked for lately: not yet")
            clock.advance(.seconds(10))
            #expect(await check(rotated) == nil, "the rotated key picked up without a restart")
            #expect(try await idp.fetches().jwks == 2)
            clock.advance(.seconds(10))
            #expect(
                await check(try await idp.token(alg: "ES256", previousKey: true)) == "the token names an unknown key",
                "a key the provider dropped verifies nothing")
        }
    }

    @Test("a verified token is remembered until it expires: repeated calls need no keys")
    func rememberedTokens() async throws {
        try await Self.withIdP { idp in
            let clock = MovingClock()
            let authenticator = Self.authenticator([Self.settings(idp)], clock: clock)
            defer { Task { await authenticator.shutdown() } }
            let token = try await idp.token(alg: "RS256")
            #expect(
                Self.refusal(await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil))
                    == nil)
            try await idp.down()
            try await idp.resetCounts()
            clock.advance(.seconds(7200))
            #expect(
                Self.refusal(await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil))
                    == nil)
            #expect(try await idp.fetches().jwks == 0, "no signature check, so no keys needed")
        }
    }

    @Test("a provider down at start: its tokens are refused with the reason until its keys can be had")
    func providerDownAtStart() async throws {
        try await Self.withIdP { idp in
            try await idp.down()
            let clock = MovingClock()
            let authenticator = Self.authenticator([Self.settings(idp)], clock: clock)
            defer { Task { await authenticator.shutdown() } }
            let token = try await idp.token(alg: "ES256")
            let refused = Self.refusal(
                await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil))
            #expect(
                refused?.hasPrefix("the identity provider's keys cannot be had") == true, "\(refused ?? "accepted")")
            #expect(refused?.contains("503") == true)
            #expect(authenticator.issuerHealth.first?.up == false)
            try await idp.up()
            clock.advance(.seconds(10))
            #expect(
                Self.refusal(await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil))
                    == nil)
            #expect(authenticator.issuerHealth.first?.up == true)
            #expect(authenticator.issuerHealth.first?.error == nil)
        }
    }

    @Test("background retries go on after a round that finds the keys tried lately, until a fetch works")
    func retriesOutlastARefusedRound() async throws {
        try await Self.withIdP { idp in
            try await idp.down()
            let clock = MovingClock()
            // Each read of the key clock is a visit of the key cache: the test sees a retry round happen.
            let reads = Atomic<Int>(0)
            let authenticator = CallerAuthenticator(
                config: AuthConfig(jwtIssuers: [Self.settings(idp)]), strict: false, logger: quietLogger,
                keyClock: {
                    reads.add(1, ordering: .relaxed)
                    return clock.now
                }, keyRetryDelay: .milliseconds(100))
            defer { Task { await authenticator.shutdown() } }
            let token = try await idp.token(alg: "ES256")
            #expect(
                Self.refusal(await authenticator.authenticate(authorization: "Bearer " + token, openWebUIUser: nil))?
                    .contains("503") == true)
            try await idp.up()
            // The key clock has not moved: the first retry round finds the keys tried lately and fetches nothing.
            let visits = reads.load(ordering: .relaxed)
            #expect(await pollUntil { reads.load(ordering: .relaxed) > visits })
            #expect(authenticator.issuerHealth.first?.up == false)
            clock.advance(.seconds(10))
            // A later round fetches them, with no token asking.
            #expect(await pollUntil { authenticator.issuerHealth.first?.up == true })
            #expect(authenticator.issuerHealth.first?.error == nil)
        }
    }

    @Test("a bearer that parses as a JWT is a token; anything else a key; without issuers every bearer is a key")
    func tokenOrKey() async throws {
        try await Self.withIdP { idp in
            let keys = [NamedAPIKey(name: "ci", secret: .plain("ci-key"), scopes: ["kitchen:read"])]
            let both = Self.authenticator([Self.settings(idp)], keys: keys)
            let keysOnly = Self.authenticator([], keys: keys)
            defer {
                Task {
                    await both.shutdown()
                    await keysOnly.shutdown()
                }
            }
            #expect(try await both.authenticate(authorization: "Bearer ci-key", openWebUIUser: nil).get().user == "ci")
            #expect(
                await both.authenticate(authorization: "Bearer nope", openWebUIUser: nil)
                    == .failure(.unknownAPIKey(detail: "Invalid API key")))
            let token = try await idp.token(alg: "ES256", claims: ["aud": "elsewhere"])
            guard
                case .failure(.invalidToken) = await both.authenticate(
                    authorization: "Bearer " + token, openWebUIUser: nil)
            else {
                Issue.record("a JWT with the wrong audience was not refused as a token")
                return
            }
            #expect(
                await keysOnly.authenticate(authorization: "Bearer " + token, openWebUIUser: nil)
                    == .failure(.unknownAPIKey(detail: "Invalid API key")))
            #expect(await both.authenticate(authorization: nil, openWebUIUser: nil) == .failure(.missingCredential))
            #expect(
                await both.authenticate(authorization: "Bearer ", openWebUIUser: nil) == .failure(.missingCredential))
        }
    }
}
