import Foundation
import Synchronization

/// Tokens verified already, until they expire: a caller's repeated calls with the same token cost no parsing and no
/// signature check. Kept whole (a lookup is one hash of the text and one comparison, cheaper than a digest of it),
/// bounded by `capacity` tokens and `byteBudget` bytes of token text; beyond either the oldest go first.
final class VerifiedTokens: Sendable {
    private struct Entry {
        var identity: CallerIdentity
        var expiry: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var bytes = 0
    }

    let capacity: Int
    let byteBudget: Int
    private let state = Mutex(State())

    init(capacity: Int = 10_000, byteBudget: Int = 4 << 20) {
        self.capacity = max(1, capacity)
        self.byteBudget = max(1, byteBudget)
    }

    func identity(of token: String, now: Date = Date()) -> CallerIdentity? {
        state.withLock { state in
            guard let entry = state.entries[token] else { return nil }
            guard now < entry.expiry else {
                state.entries[token] = nil
                return nil
            }
            return entry.identity
        }
    }

    func remember(_ token: String, as identity: CallerIdentity, until expiry: Date) {
        state.withLock { state in
            if state.entries.updateValue(Entry(identity: identity, expiry: expiry), forKey: token) == nil {
                state.order.append(token)
                state.bytes += token.utf8.count
            }
            guard state.order.count > capacity || state.bytes > byteBudget else { return }
            // Drop a tenth more than the excess: amortised, not a removal per insert. Entries already dropped as
            // expired are only in `order`; dropping them again is harmless.
            var excess = max(state.order.count - capacity, 0) + capacity / 10
            var dropped = 0
            while dropped < state.order.count, excess > 0 || state.bytes > byteBudget - byteBudget / 10 {
                let old = state.order[dropped]
                state.entries[old] = nil
                state.bytes -= old.utf8.count
                dropped += 1
                excess -= 1
            }
            state.order.removeFirst(dropped)
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
