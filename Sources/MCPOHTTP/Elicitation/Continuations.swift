import Synchronization

/// The open questions of calls, by continuation token: each taken once, by the caller that got it (same identity,
/// same credential). A question not answered within `timeout` is cancelled upstream; its token then answers 504.
final class Continuations: Sendable {
    enum Lookup {
        case found(CallExchange)
        /// Never given, or answered already.
        case unknown
        /// Given to another caller.
        case foreign
        /// Not answered in time: the question was cancelled.
        case expired
    }

    private enum Entry {
        case open(CallExchange)
        case expired
    }

    private let timeoutSetting: Mutex<Duration>
    private let entries = Mutex<[String: Entry]>([:])
    private let expiredOrder = Mutex<[String]>([])
    /// Tokens of expired questions remembered at most (to answer 504 rather than 404).
    private static let expiredKept = 1000

    init(timeout: Duration) {
        self.timeoutSetting = Mutex(timeout)
    }

    /// How long a question waits for its answer (`elicitationTimeoutSeconds`).
    var timeout: Duration { timeoutSetting.withLock { $0 } }

    func use(timeout: Duration) {
        timeoutSetting.withLock { $0 = timeout }
    }

    func register(_ token: String, _ exchange: CallExchange) {
        entries.withLock { $0[token] = .open(exchange) }
    }

    /// The exchange waiting under `token`, removed (single use) when `owner` is the caller it was given to.
    func take(_ token: String, owner: String) -> Lookup {
        entries.withLock { entries in
            switch entries[token] {
            case nil: return .unknown
            case .expired?: return .expired
            case .open(let exchange)?:
                guard CallerKey.equalInConstantTime(exchange.owner, owner) else { return .foreign }
                entries[token] = nil
                return .found(exchange)
            }
        }
    }

    func expire(_ token: String) {
        let dropped = expiredOrder.withLock { order -> String? in
            order.append(token)
            return order.count > Self.expiredKept ? order.removeFirst() : nil
        }
        entries.withLock { entries in
            entries[token] = .expired
            if let dropped { entries[dropped] = nil }
        }
    }

    /// The token of a question that was answered, or whose call ended: forgotten.
    func forget(_ token: String) {
        _ = entries.withLock { $0.removeValue(forKey: token) }
    }

    /// 32 hex digits from the system's random source.
    static func newToken() -> String { FileStore.newID() }
}
