import Foundation

/// The tokens each user holds, as a value: `TokenManager` keeps it and does the store and network work its
/// transitions call for. The store is read once per user (afterwards the cache answers, even "none"), and a refresh
/// runs once however many callers need it at the same time. Generic over the refresh work so its tests need no tasks.
struct TokenCache<Refresh> {
    struct Entry {
        var tokens: OAuthTokens?
        /// Whether the store was read (or written) for this user; until then `tokens` says nothing.
        var loaded = false
        /// Multi-user sessions idle for too long are ended.
        var lastUse: Date
        var refresh: Refresh?
    }

    /// One entry per user known since the last idle expiry (the key is nil in single-user mode).
    private(set) var entries: [String?: Entry] = [:]

    /// The user made a request, so their session is not idle; a user seen for the first time gets an empty entry.
    mutating func touch(_ user: String?, now: Date) {
        entries[user, default: Entry(lastUse: now)].lastUse = now
    }

    func isLoaded(_ user: String?) -> Bool { entries[user]?.loaded ?? false }

    /// The users with an entry (nil in single-user mode).
    var knownUsers: [String?] { Array(entries.keys) }

    /// The tokens held for `user`; nil also before the store was read (see `isLoaded`).
    func tokens(of user: String?) -> OAuthTokens? { entries[user]?.tokens }

    /// What the store holds (or was just given) for `user`, so it is not read again.
    mutating func hold(_ tokens: OAuthTokens?, for user: String?, now: Date) {
        entries[user, default: Entry(lastUse: now)].tokens = tokens
        entries[user]?.loaded = true
    }

    /// The user's tokens are gone (refused, expired, signed out): nothing to read from the store again.
    mutating func drop(_ user: String?) {
        entries[user]?.tokens = nil
        entries[user]?.loaded = true
    }

    /// A refresh is needed: the one in flight for `user`, or the one `start` makes (cleared by `refreshEnded`).
    mutating func refresh(for user: String?, now: Date, start: () -> Refresh) -> SingleFlight<Refresh> {
        if let running = entries[user]?.refresh { return .joined(running) }
        let refresh = start()
        entries[user, default: Entry(lastUse: now)].refresh = refresh
        return .started(refresh)
    }

    /// The refresh its starter waited for ended (either way); the next need starts another.
    mutating func refreshEnded(for user: String?) {
        entries[user]?.refresh = nil
    }

    /// The users (multi-user mode) unseen since `limit`; a refresh in flight keeps a user.
    func idleUsers(before limit: Date) -> [String] {
        entries.compactMap { user, entry in
            guard let user, entry.lastUse < limit, entry.refresh == nil else { return nil }
            return user
        }
    }

    /// Ends `user`'s entry; the next request reads the store again.
    mutating func forget(_ user: String?) {
        entries[user] = nil
    }
}
