import Foundation
import JSONValue
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The OpenID-Connect-style identity provider of `Tests/Fixtures/python/idp/idp_fixture.py` (discovery, a JWKS
/// with RSA, RSA-PSS, P-256, P-384 and Ed25519 keys, and admin hooks minting good and deliberately bad tokens),
/// on a free port of 127.0.0.1, run by the Python of `.venv-mcp1` (`scripts/setup-test-env.sh`). Killed by pid
/// in `stop()`.
public final class IdentityProviderFixture: Sendable {
    public let port: Int
    /// `http://127.0.0.1:<port>/realms/<realm>` (`main` unless started with `--realm`).
    public let issuer: String
    private let process: AnnouncingProcess

    public var origin: String { "http://127.0.0.1:\(port)" }
    public var discoveryURL: String { "\(issuer)/.well-known/openid-configuration" }
    public var jwksURL: String { "\(issuer)/protocol/openid-connect/certs" }

    public static var python: String { OAuthFixtureServers.python }
    public static var script: String {
        OAuthFixtureServers.repositoryRoot.appendingPathComponent("Tests/Fixtures/python/idp/idp_fixture.py").path
    }

    private init(port: Int, issuer: String, process: AnnouncingProcess) {
        self.port = port
        self.issuer = issuer
        self.process = process
    }

    /// Starts the fixture with `flags` (`--realm R`, `--max-age N`, `--omit-jwk-alg`) and waits (bounded) until
    /// its admin hooks answer.
    public static func start(_ flags: [String] = []) async throws -> IdentityProviderFixture {
        let name = "idp_fixture.py \(flags)"
        let process = try await AnnouncingProcess.start([python, script, "--port", "0"] + flags, name: name) {
            guard let port = $0["port"]?.intValue else { return false }
            // The admin hooks are not counted as fetches.
            return (try? await FixtureHTTP.send(.GET, "http://127.0.0.1:\(port)/_admin/fetches").status) == 200
        }
        guard let port = process.announcement["port"]?.intValue,
            let issuer = process.announcement["issuer"]?.stringValue
        else {
            await process.stop()
            throw FixtureFailure("\(name) announced no port and issuer: \(process.announcement)")
        }
        return IdentityProviderFixture(port: port, issuer: issuer, process: process)
    }

    /// SIGKILL to the fixture process, then waits (bounded) until it is gone.
    public func stop() async {
        await process.stop()
    }

    /// A compact JWT from `/_admin/token`. `alg` is RS256…RS512, PS256…PS512, ES256, ES384, EdDSA, or one of
    /// the attacks `none` and `HS256-with-public-key`. `claims` override the defaults (iss, aud "mcpo",
    /// sub "alice", iat, exp now + 300, scope ""); a claim given as `nil` (JSON null) is removed. `kid` replaces
    /// the header's kid, `omitKID` leaves it out, `tamper` changes `sub` after signing, `previousKey` signs
    /// with the keys from before the last rotation.
    public func token(
        alg: String = "RS256", claims: JSON = [:], kid: String? = nil, omitKID: Bool = false, tamper: Bool = false,
        previousKey: Bool = false
    ) async throws -> String {
        var request: JSON = [
            "alg": .string(alg), "claims": claims, "omit_kid": .bool(omitKID), "tamper": .bool(tamper),
            "key": .string(previousKey ? "previous" : "current"),
        ]
        if let kid { request["kid"] = .string(kid) }
        let answer = try await adminPOST("/_admin/token", request)
        guard let token = answer["token"]?.stringValue else {
            throw FixtureFailure("/_admin/token answered no token: \(answer.text)")
        }
        return token
    }

    /// New keys with new kids for every algorithm; the JWKS also keeps serving the replaced ones when
    /// `keepPrevious`.
    public func rotate(keepPrevious: Bool) async throws {
        try await adminPOST("/_admin/rotate", ["keep_previous": .bool(keepPrevious)])
    }

    /// Discovery and the JWKS answer 503 (still counted) until `up()`.
    public func down() async throws {
        try await adminPOST("/_admin/down")
    }

    public func up() async throws {
        try await adminPOST("/_admin/up")
    }

    /// The `max-age` of the JWKS answer's `Cache-Control: public, max-age=N`.
    public func setCacheMaxAge(_ seconds: Int) async throws {
        try await adminPOST("/_admin/cache", ["max_age": .int(seconds)])
    }

    /// How many discovery and JWKS requests the provider has seen (503s included) since the last reset.
    public func fetches() async throws -> (discovery: Int, jwks: Int) {
        let answer = try await adminGET("/_admin/fetches")
        guard let discovery = answer["discovery"]?.intValue, let jwks = answer["jwks"]?.intValue else {
            throw FixtureFailure("/_admin/fetches: \(answer.text)")
        }
        return (discovery, jwks)
    }

    public func resetCounts() async throws {
        try await adminPOST("/_admin/reset_counts")
    }

    /// The current kid per algorithm (`["RS256": kid, …, "EdDSA": kid]`; RS256/384/512 share one key, as do
    /// PS256/384/512).
    public func keys() async throws -> [String: String] {
        let answer = try await adminGET("/_admin/keys")
        guard let members = answer.objectValue else { throw FixtureFailure("/_admin/keys: \(answer.text)") }
        var kids: [String: String] = [:]
        for (alg, kid) in members {
            guard let kid = kid.stringValue else { throw FixtureFailure("/_admin/keys: \(answer.text)") }
            kids[alg] = kid
        }
        return kids
    }

    @discardableResult
    private func adminPOST(_ path: String, _ body: JSON = [:]) async throws -> JSON {
        let reply = try await FixtureHTTP.send(
            .POST, origin + path, headers: [("Content-Type", "application/json")], body: body.text)
        return try Self.answer(reply, "POST \(path)")
    }

    private func adminGET(_ path: String) async throws -> JSON {
        let reply = try await FixtureHTTP.send(.GET, origin + path)
        return try Self.answer(reply, "GET \(path)")
    }

    /// Anything but 200 with a JSON body fails, naming the fixture's answer (its 400s say what was wrong).
    private static func answer(_ reply: FixtureReply, _ request: String) throws -> JSON {
        guard reply.status == 200, let json = reply.json else {
            throw FixtureFailure("\(request): \(reply.status) \(reply.body)")
        }
        return json
    }
}
