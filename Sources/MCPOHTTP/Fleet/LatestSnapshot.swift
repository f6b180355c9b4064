import MCPClient
import Synchronization

/// The tools a server of many upstream sessions serves (one per user, one per tenant): the latest snapshot any of its
/// sessions published, kept after that session ends; an observer is told of each (to rebuild the routes).
final class LatestSnapshot: Sendable {
    private let latest = Mutex<UpstreamSnapshot?>(nil)
    private let onChange = Mutex<(@Sendable () -> Void)?>(nil)

    var value: UpstreamSnapshot? { latest.withLock { $0 } }

    func observe(_ observer: @escaping @Sendable () -> Void) {
        onChange.withLock { $0 = observer }
    }

    /// Takes each snapshot `session` publishes from now on.
    func follow(_ session: any ToolUpstream) {
        session.observe { [weak self] snapshot in
            guard let self else { return }
            self.latest.withLock { $0 = snapshot }
            let observer = self.onChange.withLock { $0 }
            observer?()
        }
    }
}
