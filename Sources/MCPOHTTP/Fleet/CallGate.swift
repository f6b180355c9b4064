import MCPClient
import Synchronization

/// Bounds the calls one server runs at once; further calls wait in a bounded queue, in arrival order.
///
/// A server that is slow or stuck thus holds at most `limit` calls; when the queue is full the proxy
/// answers 503 at once instead of piling up work it cannot finish.
final class CallGate: Sendable {
    /// How a wait for a slot ended.
    enum Entry: Equatable {
        case admitted
        /// The queue was full too.
        case refused
        /// The caller left while waiting: its place in the queue is given up and no slot is taken.
        case left
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var running = 0
        var nextWaiter = 0
        var waiting: [Waiter] = []
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

    /// Takes a slot, waiting in the queue when all are taken; `.refused` when the queue is full too, `.left` when
    /// `cancellation` fires first (then the caller holds no slot and will never be given one).
    func enter(until cancellation: CallCancellation? = nil) async -> Entry {
        let place = state.withLock { state -> Int? in
            if state.running < limit {
                state.running += 1
                return 0
            }
            guard state.waiting.count < queueLimit else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let place else { return .refused }
        if place == 0 { return .admitted }
        // A departure before the waiter is queued is caught by the check after queueing it.
        let handler = cancellation?.register { [self] in withdraw(place) }
        defer { if let handler { cancellation?.unregister(handler) } }
        let admitted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let admittedNow = state.withLock { state -> Bool in
                // A slot may have freed between the two locks.
                if state.running < limit {
                    state.running += 1
                    return true
                }
                state.waiting.append(Waiter(id: place, continuation: continuation))
                return false
            }
            if admittedNow {
                continuation.resume(returning: true)
            } else if cancellation?.isCancelled == true {
                withdraw(place)
            }
        }
        return admitted ? .admitted : .left
    }

    /// Takes the waiter out of the queue, if it is still there, and tells it it was not admitted.
    private func withdraw(_ place: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiting.firstIndex(where: { $0.id == place }) else { return nil }
            return state.waiting.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Gives the slot back, to the next waiter when there is one.
    func leave() {
        let next = state.withLock { state -> Waiter? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            // The slot passes straight to the waiter: `running` stays the same.
            return state.waiting.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    var queued: Int { state.withLock { $0.waiting.count } }
}
