import Foundation
import Logging
import MCPOConfig
import Synchronization

/// Writes audit records off the call path: calls hand their record over and go on; one task writes what has
/// gathered as one batch. A store that fails loses the batch (counted, logged at most once a minute) and is tried
/// again with the next one. With `required`, a call waits for its record and is refused while the store fails.
/// Retention runs in the background: a few seconds after start, then hourly.
public final class AuditWriter: Sendable {
    private struct State {
        var pending: [AuditRecord] = []
        /// Calls waiting for their record (`required`), by the record's id.
        var waiting: [String: CheckedContinuation<Bool, Never>] = [:]
        var lastFailure: (reason: String, loggedAt: ContinuousClock.Instant?, lostSinceLog: Int)?
        var stopped = false
        /// `flush()` callers, resumed once everything handed over before them has been written (or lost).
        var flushing: [CheckedContinuation<Void, Never>] = []
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
    /// Records waiting beyond this are not kept (counted as failed): a store that is down must not eat the memory.
    public static let pendingBound = 100_000
    /// How long a batch may gather before it is written (not when a call waits for its record): one transaction
    /// for many records, instead of one per call under load.
    public static let gatherDelay = Duration.milliseconds(25)
    /// The first retention run after start.
    public static let firstRetentionDelay = Duration.seconds(5)
    public static let retentionInterval = Duration.seconds(3600)

    public init(store: any GovernanceStore, settings: AuditSettings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Records written, and records lost (the store failed, or too many waited).
    public var writtenCount: Int { written.load(ordering: .relaxed) }
    public var failedCount: Int { failed.load(ordering: .relaxed) }
    /// Whether the last write worked.
    public var isHealthy: Bool { healthy.load(ordering: .relaxed) }

    public func start() {
        let flusher = Task { await self.flushLoop() }
        let retention = Task { await self.retentionLoop() }
        tasks.withLock { $0 = [flusher, retention] }
    }

    /// Hands `record` over; returns at once.
    public func submit(_ record: AuditRecord) {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped, state.pending.count < Self.pendingBound else { return false }
            state.pending.append(record)
            return true
        }
        if accepted {
            wake.yield()
        } else {
            failed.add(1, ordering: .relaxed)
        }
    }

    /// Hands `record` over and waits until it is written (`required`); false when it could not be.
    public func submitAndWait(_ record: AuditRecord) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped, state.pending.count < Self.pendingBound else { return false }
                state.pending.append(record)
                state.waiting[record.id] = continuation
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
            let hurry = state.withLock { !$0.waiting.isEmpty || !$0.flushing.isEmpty || $0.stopped }
            if !hurry { try? await Task.sleep(for: Self.gatherDelay) }
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
            let (batch, flushed) = state.withLock { state -> ([AuditRecord], [CheckedContinuation<Void, Never>]) in
                defer { state.pending.removeAll(keepingCapacity: true) }
                guard state.pending.isEmpty else { return (state.pending, []) }
                defer { state.flushing = [] }
                return ([], state.flushing)
            }
            for waiter in flushed { waiter.resume() }
            guard !batch.isEmpty else { return }
            let outcome: String?
            do {
                try await store.append(batch)
                outcome = nil
            } catch {
                outcome = error.description
            }
            report(batch, failure: outcome)
        }
    }

    private func report(_ batch: [AuditRecord], failure: String?) {
        let now = ContinuousClock.now
        let (waiters, line) = state.withLock { state -> ([CheckedContinuation<Bool, Never>], Logger.Message?) in
            let waiters = batch.compactMap { state.waiting.removeValue(forKey: $0.id) }
            guard let failure else {
                var line: Logger.Message?
                if let last = state.lastFailure {
                    line =
                        "audit store \(store.name) is writable again; \(last.lostSinceLog) records were lost meanwhile"
                }
                state.lastFailure = nil
                return (waiters, line)
            }
            var last = state.lastFailure ?? (failure, nil, 0)
            last.reason = failure
            last.lostSinceLog += batch.count
            var line: Logger.Message?
            if last.loggedAt.map({ now - $0 >= .seconds(60) }) ?? true {
                line = "audit records lost: \(last.lostSinceLog) (the store fails: \(failure)); calls go on"
                last.loggedAt = now
                last.lostSinceLog = 0
            }
            state.lastFailure = last
            return (waiters, line)
        }
        if failure == nil {
            written.add(batch.count, ordering: .relaxed)
            healthy.store(true, ordering: .relaxed)
        } else {
            failed.add(batch.count, ordering: .relaxed)
            healthy.store(false, ordering: .relaxed)
        }
        if let line {
            if failure == nil { logger.info(line) } else { logger.error(line) }
        }
        for waiter in waiters { waiter.resume(returning: failure == nil) }
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
