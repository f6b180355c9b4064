import Foundation

/// The authorization requests waiting for their callback, as a value: found by `state` (each used once), expired by
/// the clock, bounded so that links nobody opens cannot pile up. Each user's latest link is remembered so that asking
/// again hands out the same link rather than a new one, and a link being made is made once for all who ask.
/// Generic over the making work so its tests need no tasks.
struct PendingAuthorizations<Making> {
    /// Most requests kept at once (multi-user mode); the oldest go first.
    let capacity: Int
    private(set) var byState: [String: PendingAuthorization] = [:]
    /// The `state` of the link each user was last given.
    private var latestState: [String?: String] = [:]
    private var making: [String?: Making] = [:]

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Whether a callback with this `state` is one of ours (the loopback listener is shared by servers).
    func owns(state: String) -> Bool { byState[state] != nil }

    /// Whether some waiting request matches (e.g. one that uses the loopback redirect).
    func contains(where matches: (PendingAuthorization) -> Bool) -> Bool { byState.values.contains(where: matches) }

    /// The link `user` was last given, while it stays valid past `date`.
    func waiting(for user: String?, unexpiredAt date: Date) -> PendingAuthorization? {
        guard let state = latestState[user], let pending = byState[state], pending.expiresAt > date else { return nil }
        return pending
    }

    /// A new request, which becomes its user's latest link; at capacity the oldest request is dropped first.
    mutating func add(_ pending: PendingAuthorization) {
        if byState.count >= capacity, let oldest = byState.values.min(by: { $0.createdAt < $1.createdAt }) {
            remove(state: oldest.state)
        }
        byState[pending.state] = pending
        latestState[pending.user] = pending.state
    }

    /// The request a callback's `state` names, removed so that it cannot be used twice.
    mutating func take(state: String) -> PendingAuthorization? {
        remove(state: state)
    }

    /// Drops the requests whose links no longer work.
    mutating func removeExpired(now: Date) {
        for pending in byState.values where pending.expiresAt <= now { remove(state: pending.state) }
    }

    /// `user`'s latest link is no longer what they should open (a step-up needs other scopes).
    mutating func withdraw(for user: String?) {
        if let state = latestState[user] { remove(state: state) }
        latestState[user] = nil
    }

    /// A link for `user` is needed: the one being made, or the one `start` makes (cleared by `makingEnded`).
    mutating func make(for user: String?, start: () -> Making) -> SingleFlight<Making> {
        if let running = making[user] { return .joined(running) }
        let work = start()
        making[user] = work
        return .started(work)
    }

    /// The making its starter waited for ended (either way).
    mutating func makingEnded(for user: String?) {
        making[user] = nil
    }

    /// Whether a link for `user` is being made (such a user's session is not idle).
    func isMaking(for user: String?) -> Bool { making[user] != nil }

    /// Ends everything of `user` (their session expired).
    mutating func forget(_ user: String?) {
        byState = byState.filter { $0.value.user != user }
        latestState[user] = nil
        making[user] = nil
    }

    @discardableResult
    private mutating func remove(state: String) -> PendingAuthorization? {
        guard let pending = byState.removeValue(forKey: state) else { return nil }
        if latestState[pending.user] == state { latestState[pending.user] = nil }
        return pending
    }
}
