import MCPOAuth
import MCPOIdentity

/// Who makes a request: what its credential proves, and, for a multi-user OAuth server, the user's session.
struct Caller: Sendable, Equatable {
    var identity: CallerIdentity
    /// The session JWT of a multi-user OAuth server's user (Open WebUI's or the proxy's own).
    var session: SessionIdentity?

    init(identity: CallerIdentity = .anonymous, session: SessionIdentity? = nil) {
        self.identity = identity
        self.session = session
    }

    static let anonymous = Caller()
}
