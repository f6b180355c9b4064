import MCPOConfig
import Synchronization

/// A token bucket as a value: `capacity` tokens, refilled evenly over the limit's period.
struct TokenBucket: Equatable {
    var tokens: Double
    var updated: ContinuousClock.Instant

    init(limit: RateLimit, now: ContinuousClock.Instant) {
        tokens = Double(limit.count)
        updated = now
    }

    /// The bucket refilled up to `now`.
    func refilled(_ limit: RateLimit, now: ContinuousClock.Instant) -> TokenBucket {
        var bucket = self
        let elapsed = now - updated
        guard elapsed > .zero else { return bucket }
        bucket.tokens = min(Double(limit.count), tokens + elapsed.seconds * Self.rate(limit))
        bucket.updated = now
        return bucket
    }

    /// Seconds until one token is there (0 when one is).
    func wait(_ limit: RateLimit) -> Double {
        tokens >= 1 ? 0 : (1 - tokens) / Self.rate(limit)
    }

    static func rate(_ limit: RateLimit) -> Double {
        let period = Double(limit.period.components.seconds)
        return Double(limit.count) / max(period, 1)
    }
}

/// The buckets of every caller, by server and by tool. A call takes a token from each bucket that applies, or from
/// none when one is empty. Buckets of callers idle long enough to be full again are dropped when there are many.
final class RateLimiter: Sendable {
    struct Refusal: Equatable {
        var limit: RateLimit
        var perTool: Bool
        var retryAfterSeconds: Int
    }

    private struct Key: Hashable {
        var caller: String
        var server: String
        /// nil: the caller's bucket for the whole server.
        var tool: String?
    }

    private let buckets = Mutex<[Key: TokenBucket]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant
    /// Beyond this many buckets the full ones are dropped.
    static let pruneAt = 50_000

    init(now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
    }

    /// Takes a token for a call, or says which limit refuses it and when to retry.
    func take(caller: String, server: String, tool: String, serverLimit: RateLimit?, toolLimit: RateLimit?)
        -> Refusal?
    {
        guard serverLimit != nil || toolLimit != nil else { return nil }
        let now = now()
        return buckets.withLock { buckets -> Refusal? in
            let serverKey = Key(caller: caller, server: server, tool: nil)
            let toolKey = Key(caller: caller, server: server, tool: tool)
            let serverBucket = serverLimit.map {
                (buckets[serverKey] ?? TokenBucket(limit: $0, now: now)).refilled($0, now: now)
            }
            let toolBucket = toolLimit.map {
                (buckets[toolKey] ?? TokenBucket(limit: $0, now: now)).refilled($0, now: now)
            }
            if let limit = toolLimit, let bucket = toolBucket, bucket.tokens < 1 {
                buckets[toolKey] = bucket
                return Refusal(limit: limit, perTool: true, retryAfterSeconds: Self.seconds(bucket.wait(limit)))
            }
            if let limit = serverLimit, let bucket = serverBucket, bucket.tokens < 1 {
                buckets[serverKey] = bucket
                return Refusal(limit: limit, perTool: false, retryAfterSeconds: Self.seconds(bucket.wait(limit)))
            }
            if var bucket = serverBucket {
                bucket.tokens -= 1
                buckets[serverKey] = bucket
            }
            if var bucket = toolBucket {
                bucket.tokens -= 1
                buckets[toolKey] = bucket
            }
            if buckets.count > Self.pruneAt { Self.prune(&buckets) }
            return nil
        }
    }

    /// Whole seconds to wait, at least 1.
    private static func seconds(_ wait: Double) -> Int {
        max(1, Int(wait.rounded(.up)))
    }

    /// Drops the buckets that have not been used for an hour (every limit's period is at most one).
    private static func prune(_ buckets: inout [Key: TokenBucket]) {
        guard let newest = buckets.values.map(\.updated).max() else { return }
        buckets = buckets.filter { newest - $0.value.updated < .seconds(3600) }
    }

    var count: Int { buckets.withLock { $0.count } }
}
