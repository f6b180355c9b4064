import MCPClient
import Synchronization

/// Multi-user OAuth: one upstream session per user of a server, each with that user's own token, made on the
/// user's first call and ended when the user's session expires (or the server is stopped).
///
/// The tools the server serves (routes and documents) come from the latest list any user's session got: the
/// tools appear once one user has authorized.
final class UserSessions: Sendable {
    private let sessions = Mutex<[String: any ToolUpstream]>([:])
    private let latest = LatestSnapshot()
    private let stopped = Mutex(false)

    /// The tools of the latest snapshot any user's session published (kept after that session ends).
    var snapshot: UpstreamSnapshot? { latest.value }

    /// How many user sessions exist now.
    var count: Int { sessions.withLock { $0.count } }

    /// Called whenever a session publishes a new snapshot (to rebuild the routes).
    func observe(_ observer: @escaping @Sendable () -> Void) {
        latest.observe(observer)
    }

    /// The session of `user`, made with `make` when there is none (not connected yet: the first call connects).
    /// Nil once the server is stopped.
    func upstream(for user: String, make: () -> any ToolUpstream) -> (any ToolUpstream)? {
        let (session, made) = sessions.withLock { sessions -> ((any ToolUpstream)?, Bool) in
            if let existing = sessions[user] { return (existing, false) }
            guard !stopped.withLock({ $0 }) else { return (nil, false) }
            let created = make()
            sessions[user] = created
            return (created, true)
        }
        if made, let session { latest.follow(session) }
        return session
    }

    /// Ends the sessions of `users` (their upstream sessions are closed).
    func end(_ users: [String]) async {
        let ended = sessions.withLock { sessions in users.compactMap { sessions.removeValue(forKey: $0) } }
        for session in ended { await session.shutdown() }
    }

    /// Ends every session; no new one is made afterwards.
    func shutdownAll() async {
        let all = sessions.withLock { sessions -> [any ToolUpstream] in
            stopped.withLock { $0 = true }
            defer { sessions = [:] }
            return Array(sessions.values)
        }
        await withTaskGroup(of: Void.self) { group in
            for session in all { group.addTask { await session.shutdown() } }
        }
    }
}
