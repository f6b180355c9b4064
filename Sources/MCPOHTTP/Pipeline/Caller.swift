import MCPOAuth

/// Who makes a request, as far as its credential proves.
struct Caller: Sendable, Equatable {
    enum Credential: Sendable, Equatable {
        /// No credential (none was needed).
        case none
        /// An API key, by its name (`cli` for the keys of `--api-key`).
        case apiKey(name: String)
        /// A user of a multi-user OAuth server, by their session JWT (Open WebUI's or the proxy's own).
        case session(SessionIdentity)
    }

    var credential: Credential

    static let anonymous = Caller(credential: .none)

    /// The name of the keys given with `--api-key`.
    static let commandLineKeyName = "cli"
}
