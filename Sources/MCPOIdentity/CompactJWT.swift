import JSONValue
import MCPOAuth

/// A JWT in compact form, split and decoded but not verified: its header and claims as JSON, and the parts a
/// signature covers.
public struct CompactJWT: Sendable {
    public let header: JSON
    public let claims: JSON
    public let raw: String

    /// Three base64url segments whose first two decode to JSON objects; nil for anything else (an API key).
    public init?(_ token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
            let headerBytes = Base64URL.decode(parts[0]), let header = try? JSON.parse(headerBytes),
            header.objectValue != nil,
            let claimBytes = Base64URL.decode(parts[1]), let claims = try? JSON.parse(claimBytes),
            claims.objectValue != nil
        else { return nil }
        self.header = header
        self.claims = claims
        self.raw = token
    }

    public var algorithm: String? { header["alg"]?.stringValue }
    public var keyID: String? { header["kid"]?.stringValue }
    public var issuer: String? { claims["iss"]?.stringValue }

    /// `aud` as a list (a string or an array of strings).
    public var audiences: [String] {
        switch claims["aud"] {
        case .string(let one)?: [one]
        case .array(let many)?: many.compactMap(\.stringValue)
        default: []
        }
    }

    /// A claim by dotted path (`realm_access.roles`), as Keycloak-style issuers nest them.
    public func claim(_ path: String) -> JSON? {
        if let direct = claims[path] { return direct }
        var value: JSON? = claims
        for part in path.split(separator: ".") { value = value?[String(part)] }
        return value
    }
}
