import Crypto
import Foundation
import Synchronization

/// Tokens verified already, by their SHA-256, until they expire: a caller's repeated calls with the same token
/// cost no signature check. Bounded: beyond `capacity` the oldest entries go first.
final class VerifiedTokens: Sendable {
    private struct Entry {
        var identity: CallerIdentity
        var expiry: Date
    }

    private struct State {
        var entries: [SHA256Digest: Entry] = [:]
        var order: [SHA256Digest] = []
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
    }

    func identity(of token: String, now: Date = Date()) -> CallerIdentity? {
        let digest = SHA256.hash(data: Array(token.utf8))
        return state.withLock { state in
            guard let entry = state.entries[digest] else { return nil }
            guard now < entry.expiry else {
                state.entries[digest] = nil
                return nil
            }
            return entry.identity
        }
    }

    func remember(_ token: String, as identity: CallerIdentity, until expiry: Date) {
        let digest = SHA256.hash(data: Array(token.utf8))
        state.withLock { state in
            if state.entries.updateValue(Entry(identity: identity, expiry: expiry), forKey: digest) == nil {
                state.order.append(digest)
            }
            guard state.order.count > capacity else { return }
            // Drop the oldest half of what is over a bound: amortised, not a removal per insert.
            let excess = state.order.count - capacity + capacity / 10
            for old in state.order.prefix(excess) { state.entries[old] = nil }
            state.order.removeFirst(excess)
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
