import JSONValue

/// Who may call the proxy: the `auth` object of a config file (or of `--auth-config FILE` in single-server mode).
/// Keys given with `--api-key` are added as keys named `cli` with every scope.
public struct AuthConfig: Sendable, Equatable {
    public var apiKeys: [NamedAPIKey]
    public var jwtIssuers: [JWTIssuerSettings]
    public var openWebUI: OpenWebUIUserSettings?

    public init(
        apiKeys: [NamedAPIKey] = [], jwtIssuers: [JWTIssuerSettings] = [], openWebUI: OpenWebUIUserSettings? = nil
    ) {
        self.apiKeys = apiKeys
        self.jwtIssuers = jwtIssuers
        self.openWebUI = openWebUI
    }

    /// Whether anything asks for a credential (keys or issuers).
    public var requiresCredentials: Bool { !apiKeys.isEmpty || !jwtIssuers.isEmpty }

    /// The keys of `--api-key`, named `cli`, with every scope.
    public static func commandLineKeys(_ keys: [String]) -> [NamedAPIKey] {
        keys.map { NamedAPIKey(name: "cli", secret: .plain($0), scopes: ["*"]) }
    }
}

/// An API key with a name (who calls) and the scopes it grants.
public struct NamedAPIKey: Sendable, Equatable, CustomStringConvertible {
    /// How the key is given: as it is, or as the hex SHA-256 of it (so the config holds no secret).
    public enum Secret: Sendable, Equatable {
        case plain(String)
        case sha256([UInt8])
    }

    public var name: String
    public var secret: Secret
    /// Granted scopes; `*` wildcards allowed (`read:*`, `*:read`, `*`).
    public var scopes: [String]

    public init(name: String, secret: Secret, scopes: [String]) {
        self.name = name
        self.secret = secret
        self.scopes = scopes
    }

    /// Never the key itself.
    public var description: String { "API key '\(name)'" }
}

/// One issuer whose JWT bearer tokens are accepted (`auth.jwt[]`).
public struct JWTIssuerSettings: Sendable, Equatable {
    /// `iss` must equal it exactly.
    public var issuer: String
    /// `aud` must contain one of them.
    public var audiences: [String]
    /// Where the keys are; nil: found through OpenID discovery at the issuer.
    public var jwksURI: String?
    /// The algorithms accepted; nil: every asymmetric one (RS, PS, ES, EdDSA). Never `none` nor HMAC.
    public var algorithms: [String]?
    /// The claim (a dotted path) holding the scopes; nil: `scope` (space separated) or else `scp` (array or string).
    public var scopesClaim: String?
    /// The claim naming the user (`sub` unless given).
    public var userClaim: String
    /// The claim naming the tenant, if any.
    public var tenantClaim: String?
    /// The claim holding the roles, and the scopes each role grants.
    public var rolesClaim: String?
    public var roleScopes: [String: [String]]
    /// Seconds of clock difference tolerated for `exp`, `nbf` and `iat`.
    public var leewaySeconds: Double

    public init(
        issuer: String, audiences: [String], jwksURI: String? = nil, algorithms: [String]? = nil,
        scopesClaim: String? = nil, userClaim: String = "sub", tenantClaim: String? = nil, rolesClaim: String? = nil,
        roleScopes: [String: [String]] = [:], leewaySeconds: Double = 60
    ) {
        self.issuer = issuer
        self.audiences = audiences
        self.jwksURI = jwksURI
        self.algorithms = algorithms
        self.scopesClaim = scopesClaim
        self.userClaim = userClaim
        self.tenantClaim = tenantClaim
        self.rolesClaim = rolesClaim
        self.roleScopes = roleScopes
        self.leewaySeconds = leewaySeconds
    }

    /// The asymmetric algorithms a JWKS issuer may use.
    public static let asymmetricAlgorithms = [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
    ]
}

/// Open WebUI's user header (`X-OpenWebUI-User-Jwt`): who the user is behind an Open WebUI that called with a key.
public struct OpenWebUIUserSettings: Sendable, Equatable, CustomStringConvertible {
    /// The HS256 secret Open WebUI signs the header with (`FORWARD_USER_INFO_HEADER_JWT_SECRET`).
    public var userJwtSecret: String
    /// The scopes each Open WebUI role (`admin`, `user`, …) may use, within the key's own.
    public var roleScopes: [String: [String]]

    public init(userJwtSecret: String, roleScopes: [String: [String]]) {
        self.userJwtSecret = userJwtSecret
        self.roleScopes = roleScopes
    }

    /// Never the secret.
    public var description: String {
        "Open WebUI user header (roles: \(roleScopes.keys.sorted().joined(separator: ", ")))"
    }
}

/// What a server's calls need and what they carry upstream about their caller.
public struct ServerAccess: Sendable, Equatable {
    /// Tool-name globs and the scopes a call of a matching tool needs (all of them); the first matching entry decides;
    /// a tool no entry matches needs none.
    public var toolScopes: [ToolScopeRule]
    /// Headers sent with each call, filled from the caller's identity (`{{user}}`, `{{tenant}}`, `{{keyName}}`,
    /// `{{issuer}}`, `{{claims.<name>}}`).
    public var forwardHeaders: [(name: String, template: String)]
    /// Send the caller's own JWT upstream when its `aud` contains this audience.
    public var forwardTokenAudience: String?
    /// A request header that may name the tenant when the identity has none.
    public var tenantHeader: String?

    public init(
        toolScopes: [ToolScopeRule] = [], forwardHeaders: [(name: String, template: String)] = [],
        forwardTokenAudience: String? = nil, tenantHeader: String? = nil
    ) {
        self.toolScopes = toolScopes
        self.forwardHeaders = forwardHeaders
        self.forwardTokenAudience = forwardTokenAudience
        self.tenantHeader = tenantHeader
    }

    public var isEmpty: Bool {
        toolScopes.isEmpty && forwardHeaders.isEmpty && forwardTokenAudience == nil && tenantHeader == nil
    }

    public static func == (lhs: ServerAccess, rhs: ServerAccess) -> Bool {
        lhs.toolScopes == rhs.toolScopes && lhs.forwardTokenAudience == rhs.forwardTokenAudience
            && lhs.tenantHeader == rhs.tenantHeader
            && lhs.forwardHeaders.map(\.name) == rhs.forwardHeaders.map(\.name)
            && lhs.forwardHeaders.map(\.template) == rhs.forwardHeaders.map(\.template)
    }
}

/// One entry of `toolScopes`.
public struct ToolScopeRule: Sendable, Equatable {
    /// `*` any run of characters, `?` one character.
    public var toolGlob: String
    public var scopes: [String]

    public init(toolGlob: String, scopes: [String]) {
        self.toolGlob = toolGlob
        self.scopes = scopes
    }
}
