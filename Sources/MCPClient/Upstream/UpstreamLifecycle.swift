import MCPOConfig

/// Where one upstream server's connection stands, as a value: `UpstreamServer` holds it under its lock and acts on
/// what its transitions return. Generic over the session and the connecting work so its tests need neither.
///
/// ```
/// idle ──request──▶ connecting ──connected──▶ ready ──closed──▶ idle
///  ▲                   │                                          │
///  └───connectFailed───┘        idle ──backingOff──▶ waiting ──request──▶ connecting
///                               idle ──authorizationRequired──▶ awaitingAuthorization ──request──▶ connecting
/// any ──stop──▶ stopped (for good)
/// ```
struct UpstreamLifecycle<Session, Connecting> {
    enum Phase {
        case idle(lastFailure: String?)
        case connecting(Connecting)
        case ready(Session, generation: Int)
        /// Supervised and backing off until `retryAt`.
        case waiting(lastError: String, retryAt: ContinuousClock.Instant)
        /// Supervised and waiting for an OAuth authorization (no retries until it changes).
        case awaitingAuthorization(url: String)
        case stopped
    }

    /// What a caller that needs the session gets.
    enum Access {
        case ready(Session)
        /// A connection attempt is under way (perhaps started by this request): wait for it.
        case connecting(Connecting)
        case refused(MCPClientError)
    }

    /// What a tool call of a supervised server gets: calls never connect (the supervisor does) except that a crashed
    /// stdio child is respawned by the next call, as mcpo does.
    enum CallAccess {
        case ready(Session)
        /// Connect (or join the connection under way) as an unsupervised server would.
        case connect
        case refused(MCPClientError)
        /// Waiting for a user to authorize the proxy at `url`.
        case awaitingAuthorization(url: String)
    }

    private(set) var phase = Phase.idle(lastFailure: nil)
    /// Bumped by every connection attempt; events of an older connection are ignored.
    private(set) var generation = 0
    private(set) var everConnected = false
    /// Connections made after the first one (the server restarted, or its connection broke and was made again).
    private(set) var reconnections = 0
    private(set) var lastError: String?
    /// Whether a supervisor keeps the server connected (`startInBackground`).
    var supervised = false

    var isStopped: Bool {
        if case .stopped = phase { return true }
        return false
    }

    var session: Session? {
        if case .ready(let session, _) = phase { return session }
        return nil
    }

    /// The session of the connection `generation`, while it is the current one.
    func session(ofGeneration generation: Int) -> Session? {
        if case .ready(let session, let current) = phase, current == generation { return session }
        return nil
    }

    /// A session is wanted: the one there is, the attempt under way, or a new attempt made by `start`.
    mutating func requestSession(start: () -> Connecting) -> Access {
        switch phase {
        case .ready(let session, _):
            return .ready(session)
        case .connecting(let attempt):
            return .connecting(attempt)
        case .stopped:
            return .refused(.unavailable(reason: "the proxy is shutting down"))
        case .idle, .waiting, .awaitingAuthorization:
            let attempt = start()
            phase = .connecting(attempt)
            return .connecting(attempt)
        }
    }

    /// A new attempt begins: its generation.
    mutating func beginAttempt() -> Int {
        generation += 1
        return generation
    }

    /// The attempt produced a session; false when it no longer counts (stopped meanwhile).
    mutating func connected(_ session: Session, generation: Int) -> Bool {
        guard case .connecting = phase else { return false }
        phase = .ready(session, generation: generation)
        if everConnected { reconnections += 1 }
        everConnected = true
        lastError = nil
        return true
    }

    mutating func connectFailed(reason: String) {
        if case .connecting = phase { phase = .idle(lastFailure: reason) }
        lastError = reason
    }

    /// The connection of `generation` ended; true when it was the current one.
    mutating func closed(generation: Int, reason: String) -> Bool {
        guard case .ready(_, let current) = phase, current == generation else { return false }
        phase = .idle(lastFailure: reason)
        lastError = reason
        return true
    }

    /// The supervisor waits before trying again; false when something else happened meanwhile.
    mutating func backingOff(reason: String, until retryAt: ContinuousClock.Instant) -> Bool {
        guard case .idle = phase else { return false }
        phase = .waiting(lastError: reason, retryAt: retryAt)
        return true
    }

    /// The supervisor waits for a user to authorize; false when something else happened meanwhile.
    mutating func awaitingAuthorization(url: String) -> Bool {
        guard case .idle = phase else { return false }
        phase = .awaitingAuthorization(url: url)
        return true
    }

    /// Stops for good; returns the phase it left.
    mutating func stop() -> Phase {
        defer { phase = .stopped }
        return phase
    }

    /// What a tool call of a supervised server gets (nil: not supervised, connect as needed).
    func callAccess(isStdio: Bool) -> CallAccess? {
        guard supervised else { return nil }
        switch phase {
        case .ready(let session, _):
            return .ready(session)
        case .stopped:
            return .refused(.unavailable(reason: "the proxy is shutting down"))
        case .idle where isStdio, .connecting where isStdio:
            // A crashed child is respawned by the next call (or the call joins the respawn), as in mcpo: local and
            // quick. Only a child that keeps failing (backoff) is answered at once.
            return .connect
        case .connecting where !everConnected:
            return .refused(.unavailable(reason: "still connecting to the server"))
        case .awaitingAuthorization(let url):
            return .awaitingAuthorization(url: url)
        default:
            return .refused(.unavailable(reason: "reconnecting to the server; last error: \(lastError ?? "none")"))
        }
    }

    /// The state health reports show.
    func state(now: ContinuousClock.Instant) -> UpstreamState {
        let retrying = everConnected || lastError != nil
        switch phase {
        case .ready:
            return .connected
        case .connecting, .idle(lastFailure: nil):
            return retrying ? .reconnecting(lastError: lastError ?? "", nextAttemptIn: 0) : .starting
        case .idle(let failure?):
            return supervised ? .reconnecting(lastError: failure, nextAttemptIn: 0) : .failed(failure)
        case .waiting(let lastError, let retryAt):
            return .reconnecting(lastError: lastError, nextAttemptIn: max(0, now.duration(to: retryAt).seconds))
        case .awaitingAuthorization(let url):
            return .awaitingAuthorization(url: url)
        case .stopped:
            return .stopped
        }
    }
}
