/// Why a request's credential was not accepted: the identity module's one error type. Reasons name what is wrong
/// (expired, wrong audience, unknown issuer, bad signature, unknown key) and never quote the token or the key.
public enum IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No credential where one is needed (401).
    case missingCredential
    /// A bearer token (or Open WebUI's user header) that does not verify, with why (401, `invalid_token`).
    case invalidToken(String)
    /// A key that is not one of the configured keys (403): "Invalid API key" for a bearer, "Invalid credentials" for
    /// Basic, as mcpo words them.
    case unknownAPIKey(detail: String)
    /// Basic credentials that cannot be read, or another scheme than the route takes (401).
    case unsupportedCredential(String)

    public var description: String {
        switch self {
        case .missingCredential: "Missing or invalid Authorization header"
        case .invalidToken(let reason): reason
        case .unknownAPIKey(let detail): detail
        case .unsupportedCredential(let reason): reason
        }
    }
}
