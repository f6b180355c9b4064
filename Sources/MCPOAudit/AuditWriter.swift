import Foundation
import Logging
import MCPOConfig
import Synchronization

/// Writes audit records off the call path: calls hand their record over, encoded there and then (`AuditRows`),
/// and go on; one task writes what has gathered as one batch. While the store fails (a removed file, a full disk,
/// PostgreSQL away) the records are held and written again with growing pauses (1 s, doubling, up to 30 s); beyond
/// `pendingBound` held records the oldest are lost (counted). Failures are logged at most once a minute. With
/// `required`, a call waits for its record and is refused while the store fails. Retention runs in the background: a
/// few seconds after start, then hourly.
public final class AuditWriter: Sendable {
    private struct State {
        var pending = AuditRows()
        /// Calls waiting for their record (`required`), one among `pending`: told once the batch that holds it is
        /// written, or could not be.
        var waiting: [CheckedContinuation<Bool, Never>] = []
        var lastFailure: (reason: String, loggedAt: ContinuousClock.Instant?, lostSinceLog: Int)?
        /// The pause before the next attempt while the store fails.
        var retryDelay = Duration.seconds(1)
        var lastError: String?
        var stopped = false
        /// `flush()` callers, resumed once everything handed over before them has been written (or lost).
        var flushing: [CheckedContinuation<Void, Never>] = []
        /// The buffer of the batch written last, emptied, for the next batch to gather in: memory the process already
        /// touched, rather than fresh pages each time.
        var spare: AuditRows?
    }

    public let store: any GovernanceStore
    public let settings: AuditSettings
    private let logger: Logger
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let written = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let healthy = Atomic<Bool>(true)
    /// Records held beyond this are not kept (the oldest go, counted as lost): a store that is down must not eat the
    /// memory.
    public static let defaultPendingBound = 50_000
    public let pendingBound: Int
    public static let maximumRetryDelay = Duration.seconds(30)
    /// How long a batch may gather before it is written, also after the previous one (not when a call waits for its
    /// record): under load one transaction per `gatherDelay`, whatever the store's round trip, and each record's share
    /// of a write's fixed costs (the statement, the commit, the wake-ups on both sides) small.
    public static let gatherDelay = Duration.milliseconds(100)
    static let gatherStep = Duration.milliseconds(10)
    /// The first retention run after start.
    public static let firstRetentionDelay = Duration.seconds(5)
    public static let retentionInterval = Duration.seconds(3600)

    public init(
        store: any GovernanceStore, settings: AuditSettings, logger: Logger,
        pendingBound: Int = AuditWriter.defaultPendingBound
    ) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.pendingBound = pendingBound
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Records written, and records lost (the store failed, or too many waited).
    public var writtenCount: Int { written.load(ordering: .relaxed) }
    public var failedCount: Int { failed.load(ordering: .relaxed) }
    /// Whether the last write worked.
    public var isHealthy: Bool { healthy.load(ordering: .relaxed) }
    /// Why the last write failed, while the store fails.
    public var lastError: String? { state.withLock { $0.lastError } }
    /// Records waiting to be written.
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    public func start() {
        let flusher = Task { await self.flushLoop() }
        let retention = Task { await self.retentionLoop() }
        tasks.withLock { $0 = [flusher, retention] }
    }

    /// Hands `record` over; returns at once. Only the record that finds nothing pending wakes the writer: a record
    /// joining others is taken with them by the write their first one woke (or is gathering for).
    public func submit(_ record: AuditRecord) {
        let handed = state.withLock { state -> (accepted: Bool, first: Bool) in
            guard !state.stopped, state.pending.count < pendingBound else { return (false, false) }
            state.pending.append(record)
            return (true, state.pending.count == 1)
        }
        if handed.first {
            wake.yield()
        } else if !handed.accepted {
            failed.add(1, ordering: .relaxed)
        }
    }

    /// Hands `record` over and waits until it is written (`required`); false when it could not be.
    public func submitAndWait(_ record: AuditRecord) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped, state.pending.count < pendingBound else { return false }
                state.pending.append(record)
                state.waiting.append(continuation)
                return true
            }
            if accepted {
                wake.yield()
            } else {
                failed.add(1, ordering: .relaxed)
                continuation.resume(returning: false)
            }
        }
    }

    /// Returns once every record handed over before has been written (or lost).
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.stopped && state.pending.isEmpty { return true }
                state.flushing.append(continuation)
                return false
            }
            if done {
                continuation.resume()
            } else {
                wake.yield()
            }
        }
    }

    /// Writes what is pending, then stops (SIGTERM: the records of calls answered before it are kept).
    public func shutdown() async {
        state.withLock { $0.stopped = true }
        wake.finish()
        let running = tasks.withLock { $0 }
        running.last?.cancel()
        for task in running { await task.value }
    }

    private func flushLoop() async {
        for await _ in wakes {
            await gather()
            await drain()
        }
        await drain()
        // Stopped: whoever still waits for a flush has nothing more to wait for.
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.flushing = [] }
            return state.flushing
        }
        for waiter in waiting { waiter.resume() }
    }

    private func drain() async {
        while true {
            let (batch, waiters, flushed) = state.withLock {
                state -> (AuditRows, [CheckedContinuation<Bool, Never>], [CheckedContinuation<Void, Never>]) in
                guard state.pending.isEmpty else {
                    let batch = state.pending
                    // Room for about as many records as this batch holds: the next one does not grow by copying.
                    state.pending = state.spare.take() ?? AuditRows(reservingFor: batch.count)
                    defer { state.waiting = [] }
                    return (batch, state.waiting, [])
                }
                defer { state.flushing = [] }
                return (AuditRows(), [], state.flushing)
            }
            for waiter in flushed { waiter.resume() }
            guard !batch.isEmpty else { return }
            do {
                try await store.append(batch)
                succeeded(batch.count, waiters: waiters)
                var written = consume batch
                written.removeAll()
                state.withLock { $0.spare = written }
            } catch {
                guard await failed(batch, waiters: waiters, reason: error.description) else { return }
            }
            await gather()
        }
    }

    /// Lets the next batch gather for `gatherDelay` (between batches too: under load a write per batch, not per
    /// round trip), in short steps so that a call waiting for its record, a flush or a stop ends it; not at all
    /// when nothing is pending.
    private func gather() async {
        let until = ContinuousClock.now + Self.gatherDelay
        while true {
            let hurry = state.withLock {
                !$0.waiting.isEmpty || !$0.flushing.isEmpty || $0.stopped || $0.pending.isEmpty
            }
            let left = until - ContinuousClock.now
            guard !hurry, left > .zero else { return }
            try? await Task.sleep(for: min(left, Self.gatherStep))
        }
    }

    private func succeeded(_ count: Int, waiters: [CheckedContinuation<Bool, Never>]) {
        let line = state.withLock { state -> Logger.Message? in
            var line: Logger.Message?
            if let last = state.lastFailure {
                let lost = last.lostSinceLog > 0 ? " (\(last.lostSinceLog) lost)" : ""
                line = "audit store \(store.name) is writable again; the records held meanwhile are written\(lost)"
            }
            state.lastFailure = nil
            state.lastError = nil
            state.retryDelay = .seconds(1)
            return line
        }
        written.add(count, ordering: .relaxed)
        healthy.store(true, ordering: .relaxed)
        if let line { logger.info(line) }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Holds `batch` for the next attempt (the oldest beyond the bound are lost), tells the waiting calls and the
    /// flushes, and pauses; false when the writer has stopped and gives up.
    private func failed(_ batch: AuditRows, waiters: [CheckedContinuation<Bool, Never>], reason: String) async
        -> Bool
    {
        let now = ContinuousClock.now
        let (flushed, line, delay, stopping, lost) = state.withLock {
            state -> ([CheckedContinuation<Void, Never>], Logger.Message?, Duration, Bool, Int) in
            var held = batch
            held.append(contentsOf: state.pending)
            var lost = 0
            if state.stopped {
                lost = held.count
                held = AuditRows()
            } else if held.count > pendingBound {
                lost = held.count - pendingBound
                held.removeFirst(lost)
            }
            state.pending = held
            var last = state.lastFailure ?? (reason, nil, 0)
            last.reason = reason
            last.lostSinceLog += lost
            var line: Logger.Message?
            if last.loggedAt.map({ now - $0 >= .seconds(60) }) ?? true {
                let lost = last.lostSinceLog > 0 ? ", \(last.lostSinceLog) lost" : ""
                line =
                    "audit store \(store.name) fails: \(reason); \(held.count) records held for the next attempt\(lost); calls go on"
                last.loggedAt = now
                last.lostSinceLog = 0
            }
            state.lastFailure = last
            state.lastError = reason
            let delay = state.retryDelay
            state.retryDelay = min(state.retryDelay * 2, Self.maximumRetryDelay)
            let flushed = state.flushing
            state.flushing = []
            return (flushed, line, delay, state.stopped, lost)
        }
        healthy.store(false, ordering: .relaxed)
        if lost > 0 { failed.add(lost, ordering: .relaxed) }  // counted before a flush is told it is done
        if let line { logger.error(line) }
        for waiter in waiters { waiter.resume(returning: false) }
        for waiter in flushed { waiter.resume() }
        if stopping { return false }
        // The pause, in short steps so that a stop or a call waiting for its record is not held up by it.
        let until = ContinuousClock.now + delay
        while ContinuousClock.now < until {
            let hurry = state.withLock { $0.stopped || !$0.waiting.isEmpty || !$0.flushing.isEmpty }
            if hurry { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return true
    }

    private func retentionLoop() async {
        var delay = Self.firstRetentionDelay
        while !Task.isCancelled {
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            delay = Self.retentionInterval
            await runRetention(now: Date())
        }
    }

    /// Deletes the records older than `retentionDays` before `now`.
    public func runRetention(now: Date) async {
        let cutoff = now.addingTimeInterval(-Double(settings.retentionDays) * 86_400)
        do {
            let deleted = try await store.deleteRecords(olderThan: cutoff)
            logger.info("audit retention: deleted \(deleted) records older than \(settings.retentionDays) days")
        } catch {
            logger.warning("audit retention failed: \(error.description)")
        }
    }
}
