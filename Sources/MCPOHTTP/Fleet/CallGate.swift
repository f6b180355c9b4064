import Synchronization

/// Bounds the calls one server runs at once; further calls wait in a bounded queue, in arrival order.
///
/// A server that is slow or stuck thus holds at most `limit` calls; when the queue is full the proxy
/// answers 503 at once instead of piling up work it cannot finish.
final class CallGate: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let limit: Int
    let queueLimit: Int
    private let state = Mutex(State())

    init(limit: Int, queueLimit: Int) {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
    }

    /// Takes a free slot without suspending; false when all are taken (then `enter()` queues).
    func tryEnter() -> Bool {
        state.withLock { state in
            guard state.running < limit else { return false }
            state.running += 1
            return true
        }
    }

    /// Takes a slot, waiting in the queue when all are taken; false when the queue is full too.
    func enter() async -> Bool {
        enum Admission {
            case admitted
            case queued
            case refused
        }
        let immediate = state.withLock { state -> Admission in
            if state.running < limit {
                state.running += 1
                return .admitted
            }
            return state.waiting.count < queueLimit ? .queued : .refused
        }
        switch immediate {
        case .admitted:
            return true
        case .refused:
            return false
        case .queued:
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let admitted = state.withLock { state -> Bool in
                    // A slot may have freed between the two locks.
                    if state.running < limit {
                        state.running += 1
                        return true
                    }
                    state.waiting.append(waiter)
                    return false
                }
                if admitted { waiter.resume() }
            }
            return true
        }
    }

    /// Gives the slot back, to the next waiter when there is one.
    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            // The slot passes straight to the waiter: `running` stays the same.
            return state.waiting.removeFirst()
        }
        next?.resume()
    }

    var queued: Int { state.withLock { $0.waiting.count } }
}
