import Crypto
import Foundation
import JSONValue

/// Who a multi-user request is from.
public struct SessionIdentity: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable {
        /// Open WebUI's user JWT (`Authorization: Bearer`, verified with `webui_secret_key`).
        case openWebUI = "open_webui"
        /// The proxy's own session JWT (cookie or bearer).
        case proxySession = "proxy_session"
    }

    public var userID: String
    public var expiresAt: Date
    public var source: Source

    public init(userID: String, expiresAt: Date, source: Source) {
        self.userID = userID
        self.expiresAt = expiresAt
        self.source = source
    }
}

/// Why a session token was refused (`OAuthError.invalidSessionToken`).
public enum SessionTokenProblem: Sendable, Equatable, CustomStringConvertible {
    case missing
    case malformed
    case unsupportedAlgorithm(String)
    case badSignature
    case expired
    case notYetValid
    case missingExpiry
    case missingUser
    case wrongAudience

    public var description: String {
        switch self {
        case .missing: "no session token"
        case .malformed: "malformed token"
        case .unsupportedAlgorithm(let alg): "unsupported token algorithm \(alg) (only HS256)"
        case .badSignature: "invalid token signature"
        case .expired: "token expired"
        case .notYetValid: "token not yet valid"
        case .missingExpiry: "token has no exp claim"
        case .missingUser: "token names no user (id or sub)"
        case .wrongAudience: "token is not a session token of this proxy"
        }
    }
}

/// Compact JWS with HS256 only (RFC 7515/7519), on swift-crypto.
///
/// Written here rather than through jwt-kit because Open WebUI's `WEBUI_SECRET_KEY` is usually shorter than 32
/// bytes (its start script makes a 16-character key), and jwt-kit's HMAC signer asserts on such keys in debug
/// builds; the signature must still be checked with the key exactly as Open WebUI signs with it.
/// Verification is strict: exactly three segments, unpadded base64url, a JSON object header with
/// `alg` exactly `HS256` (so `none` and algorithm confusion are refused), no `crit`, a 32-byte signature
/// compared in constant time, a JSON object payload.
public enum HS256JWT {
    public static func sign(_ claims: JSON, key: SymmetricKey) -> String {
        let header: JSON = ["alg": "HS256", "typ": "JWT"]
        let signingInput = Base64URL.encode(header.bytes) + "." + Base64URL.encode(claims.bytes)
        let signature = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: key)
        return signingInput + "." + Base64URL.encode(Array(signature))
    }

    /// The claims of `token` when its signature is valid under `key`. Times are not checked here.
    public static func verify(_ token: String, key: SymmetricKey) throws(OAuthError) -> JSON {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            throw .invalidSessionToken(.malformed)
        }
        guard let headerBytes = Base64URL.decode(parts[0]), let header = try? JSON.parse(headerBytes),
            header.objectValue != nil
        else { throw .invalidSessionToken(.malformed) }
        guard let alg = header["alg"]?.stringValue else { throw .invalidSessionToken(.malformed) }
        guard alg == "HS256" else { throw .invalidSessionToken(.unsupportedAlgorithm(alg)) }
        if let type = header["typ"] {
            guard type.stringValue?.uppercased() == "JWT" else { throw .invalidSessionToken(.malformed) }
        }
        guard header["crit"] == nil else { throw .invalidSessionToken(.malformed) }
        guard let signature = Base64URL.decode(parts[2]), signature.count == SHA256.byteCount else {
            throw .invalidSessionToken(.badSignature)
        }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            throw .invalidSessionToken(.badSignature)
        }
        guard let payloadBytes = Base64URL.decode(parts[1]), let claims = try? JSON.parse(payloadBytes),
            claims.objectValue != nil
        else { throw .invalidSessionToken(.malformed) }
        return claims
    }

    /// Checks `exp` (required, strictly in the future) and `nbf` (when present, with `leeway`).
    static func checkTimes(_ claims: JSON, now: Date, leeway: TimeInterval = 5) throws(OAuthError) -> Date {
        guard let exp = claims["exp"]?.doubleValue, exp.isFinite else { throw .invalidSessionToken(.missingExpiry) }
        let expiry = Date(timeIntervalSince1970: exp)
        guard now < expiry else { throw .invalidSessionToken(.expired) }
        if let nbf = claims["nbf"] {
            guard let notBefore = nbf.doubleValue, now.timeIntervalSince1970 + leeway >= notBefore else {
                throw .invalidSessionToken(.notYetValid)
            }
        }
        return expiry
    }
}

/// User identity for multi-user OAuth: Open WebUI's HS256 user JWT, or the proxy's own HS256 session JWT.
///
/// - With `webui_secret_key`, `Authorization: Bearer <jwt>` from Open WebUI is verified with that key
///   (signature, `exp`); the user is the claim `id`, else `sub`. Unverified tokens are never accepted.
/// - The proxy's own session token (`iss` "mcpo", `aud` "mcpo-session", `sub`, `exp`) is signed with
///   `session_secret` (used as is when at least 32 bytes, else its SHA-256), else a key derived from
///   `webui_secret_key` (HMAC-SHA256 of a fixed label, so it never verifies as an Open WebUI token and vice
///   versa), else 32 random bytes made at start (sessions then end with the process). It travels in the cookie
///   `mcpo_session` (HttpOnly; Secure; SameSite=Lax; Path=/) or as a bearer token.
public struct SessionTokens: Sendable {
    public static let cookieName = "mcpo_session"
    static let issuer = "mcpo"
    static let audience = "mcpo-session"

    /// Idle lifetime of a proxy session token (`session_timeout_minutes`); renew it on activity.
    public let timeout: TimeInterval
    private let webuiKey: SymmetricKey?
    private let sessionKey: SymmetricKey
    /// Whether the session key is random for this process only.
    public let ephemeralSessionKey: Bool

    /// `sharedKey`: the key replicas share (from their store), used when neither secret is configured.
    public init(webuiSecretKey: String?, sessionSecret: String?, timeout: TimeInterval, sharedKey: [UInt8]? = nil) {
        self.timeout = timeout
        self.webuiKey = webuiSecretKey.map { SymmetricKey(data: Array($0.utf8)) }
        if let sessionSecret {
            let bytes = Array(sessionSecret.utf8)
            self.sessionKey =
                bytes.count >= 32 ? SymmetricKey(data: bytes) : SymmetricKey(data: Array(SHA256.hash(data: bytes)))
            self.ephemeralSessionKey = false
        } else if let webuiSecretKey {
            let derived = HMAC<SHA256>.authenticationCode(
                for: Array("mcpo session token key v1".utf8), using: SymmetricKey(data: Array(webuiSecretKey.utf8)))
            self.sessionKey = SymmetricKey(data: Array(derived))
            self.ephemeralSessionKey = false
        } else if let sharedKey, sharedKey.count >= 32 {
            self.sessionKey = SymmetricKey(data: sharedKey)
            self.ephemeralSessionKey = false
        } else {
            self.sessionKey = SymmetricKey(data: RandomToken.bytes(32))
            self.ephemeralSessionKey = true
        }
    }

    public init(settings: OAuthSettings, sharedKey: [UInt8]? = nil) {
        self.init(
            webuiSecretKey: settings.webuiSecretKey, sessionSecret: settings.sessionSecret,
            timeout: settings.sessionTimeoutMinutes * 60, sharedKey: sharedKey)
    }

    /// Whether Open WebUI user tokens are accepted (a `webui_secret_key` is configured).
    public var acceptsOpenWebUITokens: Bool { webuiKey != nil }

    /// Verifies an Open WebUI user JWT: HS256 signature with `webui_secret_key`, `exp` required and in the
    /// future; the user is `id`, else `sub`.
    public func verifyOpenWebUIToken(_ token: String, now: Date = Date()) throws(OAuthError) -> SessionIdentity {
        guard let webuiKey else { throw .invalidSessionToken(.badSignature) }
        let claims = try HS256JWT.verify(token, key: webuiKey)
        let expiry = try HS256JWT.checkTimes(claims, now: now)
        guard let user = nonEmptyString(claims["id"]) ?? nonEmptyString(claims["sub"]) else {
            throw .invalidSessionToken(.missingUser)
        }
        return SessionIdentity(userID: user, expiresAt: expiry, source: .openWebUI)
    }

    /// A new proxy session token for `userID`, valid for `timeout`.
    public func issueSessionToken(userID: String, now: Date = Date()) -> String {
        let issued = Int(now.timeIntervalSince1970)
        let claims: JSON = [
            "iss": .string(Self.issuer), "aud": .string(Self.audience), "sub": .string(userID), "iat": .int(issued),
            "exp": .int(issued + Int(timeout.rounded(.up))),
        ]
        return HS256JWT.sign(claims, key: sessionKey)
    }

    /// Verifies a proxy session token (signature, `exp`, `iss`, `aud`, `sub`).
    public func verifySessionToken(_ token: String, now: Date = Date()) throws(OAuthError) -> SessionIdentity {
        let claims = try HS256JWT.verify(token, key: sessionKey)
        let expiry = try HS256JWT.checkTimes(claims, now: now)
        guard claims["iss"]?.stringValue == Self.issuer, claims["aud"]?.stringValue == Self.audience else {
            throw .invalidSessionToken(.wrongAudience)
        }
        guard let user = nonEmptyString(claims["sub"]) else { throw .invalidSessionToken(.missingUser) }
        return SessionIdentity(userID: user, expiresAt: expiry, source: .proxySession)
    }

    /// The caller of a request: its bearer token (Open WebUI's when a `webui_secret_key` is configured, else
    /// the proxy's session token), else the `mcpo_session` cookie. Throws when there is neither or when the one
    /// presented is invalid (an invalid bearer token is not silently replaced by the cookie).
    public func identify(authorization: String?, cookieHeader: String?, now: Date = Date()) throws(OAuthError)
        -> SessionIdentity
    {
        if let authorization, let token = Self.bearerToken(authorization) {
            if webuiKey != nil {
                // Open WebUI's token first; a token that is not signed with its key may be our own.
                let result = Result { () throws(OAuthError) in try verifyOpenWebUIToken(token, now: now) }
                switch result {
                case .success(let identity): return identity
                case .failure(.invalidSessionToken(.badSignature)): return try verifySessionToken(token, now: now)
                case .failure(let error): throw error
                }
            }
            return try verifySessionToken(token, now: now)
        }
        if let cookieHeader, let token = Self.cookieValue(named: Self.cookieName, in: cookieHeader) {
            return try verifySessionToken(token, now: now)
        }
        throw .invalidSessionToken(.missing)
    }

    /// `Set-Cookie` value carrying `token`: HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age = the timeout.
    public func setCookie(_ token: String) -> String {
        "\(Self.cookieName)=\(token); Max-Age=\(Int(timeout.rounded(.up))); Path=/; HttpOnly; Secure; SameSite=Lax"
    }

    /// `Set-Cookie` value that removes the session cookie.
    public func clearCookie() -> String {
        "\(Self.cookieName)=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax"
    }

    /// A new random user id for a proxy session (128 bits, base64url).
    public static func newUserID() -> String { RandomToken.make(bytes: 16) }

    /// The token of `Bearer <token>` (scheme case-insensitive), else nil.
    public static func bearerToken(_ header: String) -> String? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The value of cookie `name` in a `Cookie` header.
    public static func cookieValue(named name: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name {
                let value = pair[1].trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }
}

private func nonEmptyString(_ value: JSON?) -> String? {
    guard let text = value?.stringValue, !text.isEmpty else { return nil }
    return text
}
