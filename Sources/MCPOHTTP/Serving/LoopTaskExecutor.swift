import NIOCore
import Synchronization

/// Runs the nonisolated work of a connection's request tasks on the connection's event loop.
///
/// Without a preference, a task resumed by an upstream's channel carries on on that channel's loop: with one stdio
/// server behind the proxy every call then finishes (answer, audit record, response) on the one loop that reads the
/// server's pipe while the other loops idle. Preferring the connection's loop spreads that work over the loops the
/// connections are spread over, at no extra crossing: the resumption crosses to the connection's loop instead of the
/// answer's write.
final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// One `LoopTaskExecutor` per event loop, made when a loop's first connection asks; none at all when tasks run on
/// Swift's own pool (`MCPO_EXECUTOR=swift`), which keeps request tasks off the event loops too.
final class LoopTaskExecutors: Sendable {
    private let executors = Mutex<[ObjectIdentifier: LoopTaskExecutor]>([:])
    let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func executor(for eventLoop: any EventLoop) -> LoopTaskExecutor? {
        guard enabled else { return nil }
        return executors.withLock { executors in
            let key = ObjectIdentifier(eventLoop)
            if let existing = executors[key] { return existing }
            let made = LoopTaskExecutor(loop: eventLoop)
            executors[key] = made
            return made
        }
    }
}
