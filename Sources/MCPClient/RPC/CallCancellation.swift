import Synchronization

/// Cancels a request from outside the task that waits for it, like task cancellation but without a task
/// of its own: the HTTP face fires it when the caller's connection closes.
///
/// A request given one ends with `.cancelled` and is abandoned upstream (`notifications/cancelled`) when it
/// fires, and is not sent at all when it fired before.
public final class CallCancellation: Sendable {
    public typealias Handler = @Sendable () -> Void

    private struct State {
        var cancelled = false
        var nextID = 0
        var handlers: [Int: Handler] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Runs each registered handler once; later calls do nothing.
    public func cancel() {
        let handlers = state.withLock { state -> [Handler] in
            guard !state.cancelled else { return [] }
            state.cancelled = true
            defer { state.handlers.removeAll() }
            return Array(state.handlers.values)
        }
        for handler in handlers { handler() }
    }

    /// Registers `handler` for `cancel()`; nil when it has fired already (the handler is not run then).
    public func register(_ handler: @escaping Handler) -> Int? {
        state.withLock { state in
            guard !state.cancelled else { return nil }
            state.nextID += 1
            state.handlers[state.nextID] = handler
            return state.nextID
        }
    }

    public func unregister(_ id: Int) {
        _ = state.withLock { $0.handlers.removeValue(forKey: id) }
    }
}
