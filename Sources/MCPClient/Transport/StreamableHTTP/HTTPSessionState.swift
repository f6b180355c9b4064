import Foundation

/// The session side of a streamable HTTP connection, as a value: where requests go, the session and protocol
/// version they carry, the session the server has forgotten, and whether the transport has ended.
/// `StreamableHTTPTransport` holds it under its lock; its transitions are tested without a server.
struct HTTPSessionState: Sendable, Equatable {
    /// Where requests go: the configured URL, or the final URL of a same-origin redirect.
    private(set) var endpoint: URL
    /// `endpoint` prepared for the keep-alive pool when it is plain `http`.
    private(set) var keepAliveTarget: KeepAliveTarget?
    /// The `Mcp-Session-Id` the server assigned (stateful mode).
    private(set) var sessionID: String?
    /// The session the server said it no longer knows: requests on it fail without a round trip.
    private(set) var expiredSessionID: String?
    /// Sent as `MCP-Protocol-Version` on every request once negotiated (stateless mode: from the start).
    var protocolVersion: String?
    /// Why the transport ended, once it has.
    private(set) var closedReason: String?
    let originalEndpoint: URL
    /// A configured `Host` header, sent instead of the URL's authority.
    let configuredHost: String?

    init(endpoint: URL, configuredHost: String?, protocolVersion: String? = nil) {
        self.endpoint = endpoint
        self.originalEndpoint = endpoint
        self.configuredHost = configuredHost
        self.keepAliveTarget = KeepAliveTarget(endpoint, hostHeader: configuredHost)
        self.protocolVersion = protocolVersion
    }

    var isClosed: Bool { closedReason != nil }

    /// Whether `session` is the one the server has said it forgot.
    func isForgotten(_ session: String?) -> Bool {
        session != nil && session == expiredSessionID
    }

    /// What a request sent on the keep-alive fast path goes with, when it may take that path: a plain `http`
    /// endpoint, an open transport, and no session the server has forgotten.
    var fastPath: (target: KeepAliveTarget, session: String?, version: String?)? {
        guard !isClosed, let keepAliveTarget, !isForgotten(sessionID) else { return nil }
        return (keepAliveTarget, sessionID, protocolVersion)
    }

    /// The server assigned a session: the first one is kept.
    mutating func assign(session: String) {
        if sessionID == nil { sessionID = session }
    }

    /// The server said it no longer knows `session`: true the first time this is said of the current session
    /// (a new session must then be opened).
    mutating func expire(_ session: String) -> Bool {
        guard sessionID == session, expiredSessionID != session else { return false }
        expiredSessionID = session
        return true
    }

    /// A new session is about to be opened: no id, no forgotten id, no version until it is negotiated again.
    mutating func reset() {
        sessionID = nil
        expiredSessionID = nil
        protocolVersion = nil
    }

    /// A redirect ended at `final`: later requests go there directly, but only within the same origin (configured
    /// headers, credentials among them, must not follow a server elsewhere).
    mutating func adopt(finalURL final: URL) {
        guard final != endpoint, HTTPExchange.sameOrigin(final, originalEndpoint) else { return }
        endpoint = final
        keepAliveTarget = KeepAliveTarget(final, hostHeader: configuredHost)
    }

    /// Ends the transport for good; true the first time.
    mutating func close(reason: String) -> Bool {
        guard closedReason == nil else { return false }
        closedReason = reason
        return true
    }
}
