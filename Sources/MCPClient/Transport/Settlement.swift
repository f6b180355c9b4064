import NIOCore
import Synchronization

/// A promise settled by whichever comes first (the awaited event or its deadline); later settlements
/// are ignored.
final class Settlement<Value: Sendable>: Sendable {
    private let promise: EventLoopPromise<Value>
    private let settled = Mutex(false)

    init(eventLoop: any EventLoop) {
        promise = eventLoop.makePromise(of: Value.self)
    }

    deinit {
        // NIO requires every promise to be completed; one nobody waited for just ends as cancelled.
        settle(.failure(.cancelled))
    }

    /// False when it was settled already (and this result is dropped).
    @discardableResult
    func settle(_ result: Result<Value, MCPClientError>) -> Bool {
        let first = settled.withLock { settled in
            defer { settled = true }
            return !settled
        }
        guard first else { return false }
        promise.completeWith(result.mapError { $0 as any Error })
        return true
    }

    var value: Value {
        get async throws(MCPClientError) {
            do {
                return try await promise.futureResult.get()
            } catch {
                throw (error as? MCPClientError) ?? .disconnected(reason: "\(error)")
            }
        }
    }
}
