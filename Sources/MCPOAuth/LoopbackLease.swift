/// This manager's hold on the shared loopback callback listener, as a value: taken when a link with the loopback
/// redirect is made, given up once no such link waits, which is checked after each callback and, by the stop timer,
/// after the latest link expired (nobody may ever come back). Generic over the timer so its tests need no tasks.
struct LoopbackLease<StopTimer> {
    /// What a new loopback link calls for.
    struct LinkMade {
        /// The timer the new one replaces, to be cancelled.
        var replacedTimer: StopTimer?
        /// Whether to attach to the listener (it is not held yet, or an earlier attach failed).
        var attach: Bool
    }

    /// What the idle check calls for.
    enum IdleCheck {
        case keep
        /// Detach from the listener and cancel the stop timer (if any).
        case leave(stopTimer: StopTimer?)
    }

    private(set) var isAttached = false
    private(set) var stopTimer: StopTimer?

    /// A link with the loopback redirect was made; `timer` is to check again once that link expired.
    mutating func linkMade(stopTimer timer: StopTimer) -> LinkMade {
        defer { stopTimer = timer }
        return LinkMade(replacedTimer: stopTimer, attach: !isAttached)
    }

    /// The listener took this manager's callbacks.
    mutating func attached() {
        isAttached = true
    }

    /// Whether to let go of the listener; `loopbackLinksWaiting` says whether an unexpired link still needs it.
    mutating func checkIdle(loopbackLinksWaiting: Bool) -> IdleCheck {
        guard isAttached, !loopbackLinksWaiting else { return .keep }
        isAttached = false
        defer { stopTimer = nil }
        return .leave(stopTimer: stopTimer)
    }

    /// The manager shuts down: the stop timer to cancel, and whether to detach from the listener.
    mutating func end() -> (stopTimer: StopTimer?, detach: Bool) {
        defer {
            stopTimer = nil
            isAttached = false
        }
        return (stopTimer, isAttached)
    }
}
