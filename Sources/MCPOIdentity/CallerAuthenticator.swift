import AsyncHTTPClient
import Foundation
import Logging
import MCPOConfig

/// Who calls, from the request's credential: an API key (by constant-time match, `--api-key` keys named `cli`), a JWT
/// from a configured issuer (verified against its JWKS, remembered until it expires), and, with an API key, Open
/// WebUI's user header. With issuers configured, a bearer that parses as a JWT is a token (a failure is 401); anything
/// else is a key (an unknown key is 403, as mcpo).
public final class CallerAuthenticator: Sendable {
    private let keyScopes: [String: [String]]
    private let ring: APIKeyRing
    private let issuers: [String: IssuerVerifier]
    private let openWebUI: OpenWebUIUserHeader?
    private let verified = VerifiedTokens()
    /// The HTTP client fetching JWKS (no redirects, bounded); shut down with `shutdown()`.
    private let http: HTTPClient?
    /// `--strict-auth`: Basic `<any>:<key>` is accepted too.
    public let acceptsBasic: Bool

    public convenience init(config: AuthConfig, strict: Bool, logger: Logger) {
        self.init(config: config, strict: strict, logger: logger, keyClock: { .now })
    }

    /// `keyClock` is the clock the issuers' key caches decide by; `keyRetryDelay` nil: no background retries.
    init(
        config: AuthConfig, strict: Bool, logger: Logger, keyClock: @escaping @Sendable () -> ContinuousClock.Instant,
        keyRetryDelay: Duration? = KeySetState<KeySet>.refetchInterval
    ) {
        ring = APIKeyRing(config.apiKeys)
        keyScopes = Dictionary(config.apiKeys.map { ($0.name, $0.scopes) }, uniquingKeysWith: { first, _ in first })
        acceptsBasic = strict
        if config.jwtIssuers.isEmpty {
            http = nil
            issuers = [:]
        } else {
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            configuration.timeout = .init(connect: .seconds(10), read: .seconds(10))
            configuration.connectionPool.idleTimeout = .seconds(4)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            http = client
            issuers = Dictionary(
                config.jwtIssuers.map { settings in
                    (
                        settings.issuer,
                        IssuerVerifier(
                            settings: settings,
                            keys: IssuerKeys(
                                settings: settings, http: client, logger: logger, now: keyClock,
                                retryDelay: keyRetryDelay))
                    )
                }, uniquingKeysWith: { first, _ in first })
        }
        openWebUI = config.openWebUI.map(OpenWebUIUserHeader.init(settings:))
    }

    /// Whether callers need a credential at all.
    public var requiresCredentials: Bool { !ring.isEmpty || !issuers.isEmpty }
    public var hasIssuers: Bool { !issuers.isEmpty }
    public var issuerNames: [String] { issuers.keys.sorted() }

    /// Fetches every issuer's keys in the background, so `/readyz` knows early whether they can be had.
    public func start() {
        for verifier in issuers.values { verifier.keys.warmUp() }
    }

    public func shutdown() async {
        for verifier in issuers.values { verifier.keys.stop() }
        try? await http?.shutdown()
    }

    /// Each issuer: its keys held and fresh (`up`), or why not.
    public var issuerHealth: [(issuer: String, up: Bool, error: String?)] {
        issuers.keys.sorted().compactMap { issuer in
            guard let verifier = issuers[issuer] else { return nil }
            let health = verifier.keys.health
            return (issuer, health.up, health.error)
        }
    }

    /// The caller of a request with `authorization` (and Open WebUI's `openWebUIUser` header, if any).
    public func authenticate(authorization: String?, openWebUIUser: String?) async -> Result<
        CallerIdentity, IdentityError
    > {
        guard let authorization, let space = authorization.firstIndex(of: " ") else {
            return .failure(.missingCredential)
        }
        let scheme = authorization[..<space].lowercased()
        let credential = String(authorization[authorization.index(after: space)...].trimmingWhitespace)
        switch scheme {
        case "bearer":
            guard !credential.isEmpty else { return .failure(.missingCredential) }
            // Without issuers every bearer is a key, as with mcpo (a JWT-shaped one is then just a wrong key).
            if !issuers.isEmpty {
                // A token seen before is known by its hash alone: no parsing, no signature.
                if let known = verified.identity(of: credential) { return .success(known) }
                if let token = CompactJWT(credential) { return await tokenCaller(token) }
            }
            return keyCaller(
                credential, openWebUIUser: openWebUIUser, refusal: .unknownAPIKey(detail: "Invalid API key"))
        case "basic" where acceptsBasic:
            guard let decoded = Data(base64Encoded: credential).flatMap({ String(data: $0, encoding: .utf8) }),
                let colon = decoded.firstIndex(of: ":")
            else { return .failure(.unsupportedCredential("Invalid Basic Authentication format")) }
            let password = String(decoded[decoded.index(after: colon)...])
            return keyCaller(
                password, openWebUIUser: openWebUIUser, refusal: .unknownAPIKey(detail: "Invalid credentials"))
        default:
            return .failure(
                acceptsBasic ? .unsupportedCredential("Unsupported authorization method") : .missingCredential)
        }
    }

    private func keyCaller(_ key: String, openWebUIUser: String?, refusal: IdentityError) -> Result<
        CallerIdentity, IdentityError
    > {
        guard let named = ring.match(key) else { return .failure(refusal) }
        let caller = CallerIdentity(
            credential: .apiKey(name: named.name), user: named.name, scopes: ScopeGrant(keyScopes[named.name] ?? []))
        guard let openWebUI, let openWebUIUser else { return .success(caller) }
        return openWebUI.user(openWebUIUser, of: caller)
    }

    private func tokenCaller(_ token: CompactJWT) async -> Result<CallerIdentity, IdentityError> {
        guard let issuer = token.issuer, let verifier = issuers[issuer] else {
            return .failure(
                .invalidToken(issuers.isEmpty ? "the proxy accepts no tokens" : "the token's issuer is unknown"))
        }
        switch await verifier.verify(token) {
        case .success(let (identity, expiry)):
            verified.remember(token.raw, as: identity, until: expiry)
            return .success(identity)
        case .failure(let error):
            return .failure(error)
        }
    }
}
