/// When an issuer's keys are fetched, as a value: `IssuerKeys` holds it and acts on what it says. Generic over the
/// keys so its tests need none.
///
/// - Keys are fetched on first need and again once stale (the JWKS's `Cache-Control: max-age`, bounded between
///   `minimumFreshness` and `maximumFreshness`, `defaultFreshness` without one).
/// - A token naming a `kid` the keys do not have makes them be fetched again (a key rotated at the identity
///   provider), at most once per `refetchInterval`, so forged `kid`s cannot flood the provider.
/// - While the keys cannot be had, attempts are at most once per `refetchInterval` too; stale keys keep verifying
///   meanwhile.
struct KeySetState<Keys> {
    static var refetchInterval: Duration { .seconds(10) }
    static var minimumFreshness: Duration { .seconds(300) }
    static var maximumFreshness: Duration { .seconds(86_400) }
    static var defaultFreshness: Duration { .seconds(3_600) }

    enum Need {
        /// Verify with these keys.
        case use(Keys)
        /// Fetch the keys, then verify with what they are.
        case fetch
        /// A fetch is under way: wait for it, then ask again.
        case awaitFetch
        /// Refuse the token: the keys cannot be had (with the last error), or the `kid` is unknown and was looked
        /// for lately.
        case refuse(String)
    }

    private(set) var keys: Keys?
    private(set) var freshUntil: ContinuousClock.Instant?
    private(set) var lastAttempt: ContinuousClock.Instant?
    private(set) var lastError: String?
    private(set) var isFetching = false

    /// What a token needs that names `keyID` (`known`: the current keys have it).
    func need(known: Bool, at now: ContinuousClock.Instant) -> Need {
        let wanted = needIgnoringFetch(known: known, at: now)
        switch wanted {
        case .use: return wanted
        case .fetch, .refuse, .awaitFetch: return isFetching ? .awaitFetch : wanted
        }
    }

    private func needIgnoringFetch(known: Bool, at now: ContinuousClock.Instant) -> Need {
        guard let keys else {
            if let lastAttempt, now < lastAttempt + Self.refetchInterval {
                return .refuse("the identity provider's keys cannot be had: \(lastError ?? "not fetched yet")")
            }
            return .fetch
        }
        let mayFetch = lastAttempt.map { now >= $0 + Self.refetchInterval } ?? true
        if !known { return mayFetch ? .fetch : .refuse("the token names an unknown key") }
        if let freshUntil, now >= freshUntil, mayFetch { return .fetch }
        return .use(keys)
    }

    mutating func fetchStarted(at now: ContinuousClock.Instant) {
        lastAttempt = now
        isFetching = true
    }

    mutating func fetched(_ keys: Keys, maxAge: Duration?, at now: ContinuousClock.Instant) {
        self.keys = keys
        let freshness = min(max(maxAge ?? Self.defaultFreshness, Self.minimumFreshness), Self.maximumFreshness)
        freshUntil = now + freshness
        lastError = nil
        isFetching = false
    }

    mutating func fetchFailed(_ reason: String) {
        lastError = reason
        isFetching = false
    }

    /// For `/readyz`: up while keys are held (tokens verify), even when the last fetch failed (`lastError` says why).
    var isUp: Bool { keys != nil }

    /// `Cache-Control`'s `max-age` (`no-cache` and `no-store` as zero, which the minimum freshness bounds).
    static func maxAge(cacheControl: String?) -> Duration? {
        guard let cacheControl else { return nil }
        for directive in cacheControl.lowercased().split(separator: ",") {
            let part = directive.trimmingWhitespace
            if part == "no-cache" || part == "no-store" { return .zero }
            if part.hasPrefix("max-age="), let seconds = Int(part.dropFirst(8)), seconds >= 0 {
                return .seconds(seconds)
            }
        }
        return nil
    }
}

extension Substring {
    var trimmingWhitespace: Substring {
        var text = self
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
