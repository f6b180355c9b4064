import Logging
import NIOCore
import Synchronization

/// Which closures to log at once and which to count, as a value: the first connection a bound closes is logged,
/// and while more follow within `span` they are counted and logged as one line when the span ends. A few thousand
/// stalled clients closed together make two lines, not thousands.
struct BoundsLogWindow: Sendable, Equatable {
    enum Decision: Sendable, Equatable {
        /// Log this one now.
        case log
        /// Counted; when `flushAt` is set (the first one counted) the count must be flushed then.
        case counted(flushAt: NIODeadline?)
    }

    let span: TimeAmount
    private var lastLogged: [ConnectionDeadlines.Bound: NIODeadline] = [:]
    private var counted: [ConnectionDeadlines.Bound: Int] = [:]

    init(span: TimeAmount = .seconds(10)) {
        self.span = span
    }

    mutating func record(_ bound: ConnectionDeadlines.Bound, at now: NIODeadline) -> Decision {
        if let last = lastLogged[bound], now < last + span {
            let count = counted[bound, default: 0] + 1
            counted[bound] = count
            return .counted(flushAt: count == 1 ? last + span : nil)
        }
        lastLogged[bound] = now
        return .log
    }

    /// The closures counted since the last line, which are now logged: the count starts again.
    mutating func flush(_ bound: ConnectionDeadlines.Bound, at now: NIODeadline) -> Int {
        let count = counted.removeValue(forKey: bound) ?? 0
        if count > 0 { lastLogged[bound] = now }
        return count
    }
}

/// Logs client connections closed by a bound, summarised when many are closed at once.
final class BoundsReport: Sendable {
    private let window: Mutex<BoundsLogWindow>
    private let limits: ConnectionDeadlines.Limits
    private let logger: Logger

    init(limits: ConnectionDeadlines.Limits, logger: Logger, span: TimeAmount = .seconds(10)) {
        self.window = Mutex(BoundsLogWindow(span: span))
        self.limits = limits
        self.logger = logger
    }

    func closed(_ bound: ConnectionDeadlines.Bound, peer: String, on eventLoop: any EventLoop) {
        let now = eventLoop.now
        switch window.withLock({ $0.record(bound, at: now) }) {
        case .log:
            log(bound, "closed the client connection from \(peer): \(reason(bound))")
        case .counted(let flushAt?):
            eventLoop.scheduleTask(deadline: flushAt) { [self] in
                let count = window.withLock { $0.flush(bound, at: eventLoop.now) }
                guard count > 0 else { return }
                let span = Int(window.withLock { $0.span }.nanoseconds / 1_000_000_000)
                log(bound, "closed \(count) more client connections in \(span) s: \(reason(bound))")
            }
        case .counted(nil):
            break
        }
    }

    private func log(_ bound: ConnectionDeadlines.Bound, _ message: String) {
        // A kept-alive connection that nobody uses any more is closed routinely; the others are clients at fault.
        let message = Logger.Message(stringLiteral: message)
        if bound == .idle { logger.debug(message) } else { logger.warning(message) }
    }

    private func reason(_ bound: ConnectionDeadlines.Bound) -> String {
        let seconds = Self.seconds(limits.amount(bound))
        switch bound {
        case .head: return "no complete request head within \(seconds) s (--client-header-timeout)"
        case .body: return "no request body data for \(seconds) s (--client-body-timeout)"
        case .idle: return "idle for \(seconds) s after its last answer (--keep-alive-timeout)"
        }
    }

    static func seconds(_ amount: TimeAmount) -> String {
        let tenths = (amount.nanoseconds + 50_000_000) / 100_000_000
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }
}
