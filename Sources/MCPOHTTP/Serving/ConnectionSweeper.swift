import NIOCore
import Synchronization

/// Something the sweeper looks at every tick: a client connection that closes itself once a bound has passed.
protocol SweptConnection: AnyObject {
    func sweep(at now: NIODeadline)
}

/// Checks every client connection of one event loop against its bounds once per `interval`.
///
/// One repeated timer per loop instead of one per connection: a request then costs a few stores into its
/// connection's `ConnectionDeadlines`, never a timer armed and cancelled (a keep-alive connection's next request
/// would otherwise move its deadline earlier, and re-arm a timer, every time). A bound thus acts up to one interval
/// late. The timer runs only while the loop has connections.
final class ConnectionSweeper: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: any SweptConnection] = [:]
        var timer: RepeatedTask?
    }

    let eventLoop: any EventLoop
    let interval: TimeAmount
    private let state: NIOLoopBoundBox<State>

    init(eventLoop: any EventLoop, interval: TimeAmount = .seconds(1)) {
        self.eventLoop = eventLoop
        self.interval = interval
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(), as: State.self, eventLoop: eventLoop)
    }

    /// On the loop: from now on `connection` is swept, until `remove`.
    func add(_ connection: any SweptConnection) {
        state.value.connections[ObjectIdentifier(connection)] = connection
        guard state.value.timer == nil else { return }
        state.value.timer = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            sweep()
        }
    }

    /// On the loop.
    func remove(_ connection: any SweptConnection) {
        state.value.connections[ObjectIdentifier(connection)] = nil
        guard state.value.connections.isEmpty, let timer = state.value.timer else { return }
        timer.cancel()
        state.value.timer = nil
    }

    var count: Int { state.value.connections.count }

    private func sweep() {
        let now = eventLoop.now
        // A connection may close (and remove itself) while it is swept.
        for connection in Array(state.value.connections.values) { connection.sweep(at: now) }
    }
}

/// The sweeper of each event loop, made on first use.
final class ConnectionSweepers: Sendable {
    private let sweepers = Mutex<[ObjectIdentifier: ConnectionSweeper]>([:])
    let interval: TimeAmount

    init(interval: TimeAmount = .seconds(1)) {
        self.interval = interval
    }

    func sweeper(for eventLoop: any EventLoop) -> ConnectionSweeper {
        sweepers.withLock { sweepers in
            let key = ObjectIdentifier(eventLoop)
            if let existing = sweepers[key] { return existing }
            let made = ConnectionSweeper(eventLoop: eventLoop, interval: interval)
            sweepers[key] = made
            return made
        }
    }
}
