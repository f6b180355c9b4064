import JSONValue

/// Who makes a request, as far as its credential proves, and what it may do.
public struct CallerIdentity: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        /// No credential (none was needed).
        case none
        /// An API key, by its name (`cli` for the keys of `--api-key`).
        case apiKey(name: String)
        /// A JWT from an issuer, by its subject.
        case token(issuer: String, subject: String)
    }

    public var credential: Credential
    /// The user behind the call: a token's user claim, Open WebUI's user, or a key's name.
    public var user: String?
    public var tenant: String?
    public var scopes: ScopeGrant
    /// The verified claims (a token's, or Open WebUI's user header's).
    public var claims: JSON?
    /// The verified token and its audiences, to forward upstream where the server allows it.
    public var token: String?
    public var audiences: [String]

    public init(
        credential: Credential, user: String? = nil, tenant: String? = nil, scopes: ScopeGrant,
        claims: JSON? = nil, token: String? = nil, audiences: [String] = []
    ) {
        self.credential = credential
        self.user = user
        self.tenant = tenant
        self.scopes = scopes
        self.claims = claims
        self.token = token
        self.audiences = audiences
    }

    /// No credential: only what needs none.
    public static let anonymous = CallerIdentity(credential: .none, scopes: .everything)

    /// The key of an API key caller.
    public var keyName: String? {
        if case .apiKey(let name) = credential { return name }
        return nil
    }

    public var issuer: String? {
        if case .token(let issuer, _) = credential { return issuer }
        return nil
    }

    /// How the audit log names the caller: the key's name, `<issuer>#<subject>`, or `anonymous`.
    public var name: String {
        switch credential {
        case .none: "anonymous"
        case .apiKey(let name): name
        case .token(let issuer, let subject): "\(issuer)#\(subject)"
        }
    }
}
