import Foundation

/// What the user has to do to authorize the proxy at an upstream server: open `url` in a browser, or for the
/// device grant (RFC 8628) open `url` and, if it does not carry it already, enter `userCode`.
public struct AuthorizationPrompt: Sendable, Equatable, CustomStringConvertible {
    /// The configured server (entry) name.
    public var server: String
    /// The user this authorization is for (multi-user mode), nil in single-user mode.
    public var user: String?
    /// The authorization URL (authorization code grant) or the verification URI (device grant).
    public var url: String
    /// The code to enter at `url` (device grant only).
    public var userCode: String?
    /// After this the link no longer works; ask for a new one.
    public var expiresAt: Date

    public init(server: String, user: String?, url: String, userCode: String? = nil, expiresAt: Date) {
        self.server = server
        self.user = user
        self.url = url
        self.userCode = userCode
        self.expiresAt = expiresAt
    }

    public var description: String {
        if let userCode { return "open \(url) and enter the code \(userCode)" }
        return "open \(url)"
    }
}

/// Every failure of the OAuth layer. Messages never contain tokens, codes, verifiers or client secrets.
public enum OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No usable token: the user must authorize (the prompt says how). Not a failure of the proxy.
    case authorizationRequired(AuthorizationPrompt)
    /// A key of a server's `oauth` object is missing or has the wrong type or value (`key`: e.g. `callback_port`).
    case invalidSetting(server: String, key: String, message: String)
    /// The `oauth` settings cannot be used for what was asked (the message says why).
    case invalidSettings(String)
    /// A session token (the proxy's own, or Open WebUI's user JWT) was refused.
    case invalidSessionToken(SessionTokenProblem)
    /// Protected resource or authorization server metadata could not be found or is invalid.
    case discoveryFailed(String)
    /// The protected resource metadata names another resource than the server we talk to (RFC 9728 §3.3).
    case resourceMismatch(expected: String, advertised: String)
    /// Authorization server metadata whose `issuer` is not the issuer it was fetched for (RFC 8414 §3.3).
    case issuerMismatch(expected: String, actual: String)
    /// The authorization server does not advertise PKCE `S256` (`code_challenge_methods_supported`).
    case pkceUnsupported(issuer: String)
    /// The client could not be registered (no registration possible, or the registration endpoint refused).
    case registrationFailed(String)
    /// An authorization response that must not be used: unknown or expired `state`, `iss` mismatch, no code.
    case invalidCallback(String)
    /// The authorization server answered the authorization request with an error (e.g. `access_denied`).
    case authorizationDenied(error: String, description: String?)
    /// The token endpoint (or device authorization endpoint) refused a request.
    case tokenRequestFailed(status: Int, error: String, description: String?)
    /// `insufficient_scope` persisted after the step-up attempts allowed.
    case insufficientScope(scope: String)
    /// A 403 that is not about scope.
    case forbidden(String)
    /// The token store failed.
    case storage(String)
    /// The authorization server could not be reached or answered something unusable (timeouts included).
    case transport(String)

    public var description: String {
        switch self {
        case .authorizationRequired(let prompt): "authorization required for '\(prompt.server)': \(prompt)"
        case .invalidSetting(let server, let key, let message): "server '\(server)': oauth.\(key) \(message)"
        case .invalidSettings(let message): "invalid oauth settings: \(message)"
        case .invalidSessionToken(let problem): problem.description
        case .discoveryFailed(let message): "OAuth discovery failed: \(message)"
        case .resourceMismatch(let expected, let advertised):
            "protected resource metadata is for \(advertised), not for \(expected)"
        case .issuerMismatch(let expected, let actual):
            "authorization server metadata names issuer \(actual), expected \(expected)"
        case .pkceUnsupported(let issuer):
            "authorization server \(issuer) does not support PKCE S256 (code_challenge_methods_supported)"
        case .registrationFailed(let message): "client registration failed: \(message)"
        case .invalidCallback(let message): "authorization response refused: \(message)"
        case .authorizationDenied(let error, let description):
            "authorization denied: \(error)" + (description.map { " (\($0))" } ?? "")
        case .tokenRequestFailed(let status, let error, let description):
            "token request failed: HTTP \(status) \(error)" + (description.map { " (\($0))" } ?? "")
        case .insufficientScope(let scope): "insufficient scope after step-up authorization (needs \(scope))"
        case .forbidden(let message): "forbidden: \(message)"
        case .storage(let message): "token storage: \(message)"
        case .transport(let message): "authorization server unreachable: \(message)"
        }
    }

    /// The prompt of `.authorizationRequired`, else nil.
    public var prompt: AuthorizationPrompt? {
        if case .authorizationRequired(let prompt) = self { return prompt }
        return nil
    }
}
