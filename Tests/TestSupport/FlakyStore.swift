import Foundation
import MCPOAudit
import Synchronization

/// A store standing in for one that fails on demand: the audit writer's batching, loss counting and recovery, and
/// `audit.required`, without a disk to fill. It keeps the records it was given; it has no pins.
public final class FlakyStore: GovernanceStore {
    public let name = "flaky"
    private let state = Mutex<(failing: Bool, records: [AuditRecord])>((false, []))

    /// A write held until `release()`: the writer's batch taken, the store not yet done with it.
    private struct Hold {
        var armed = false
        var began = false
        var write: CheckedContinuation<Void, Never>?
        var watcher: CheckedContinuation<Void, Never>?
    }
    private let hold = Mutex(Hold())

    public init() {}

    /// Makes the next write wait (then succeed or fail as the store is set) until `release()`.
    public func holdNextWrite() { hold.withLock { $0 = Hold(armed: true) } }

    /// Returns once the held write has begun.
    public func heldWriteBegan() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let began = hold.withLock { hold -> Bool in
                if !hold.began { hold.watcher = continuation }
                return hold.began
            }
            if began { continuation.resume() }
        }
    }

    public func release() {
        let write = hold.withLock { hold -> CheckedContinuation<Void, Never>? in
            defer { hold.write = nil }
            return hold.write
        }
        write?.resume()
    }

    private func waitIfHeld() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (held, watcher) = hold.withLock { hold -> (Bool, CheckedContinuation<Void, Never>?) in
                guard hold.armed else { return (false, nil) }
                hold.armed = false
                hold.began = true
                hold.write = continuation
                defer { hold.watcher = nil }
                return (true, hold.watcher)
            }
            watcher?.resume()
            if !held { continuation.resume() }
        }
    }

    public func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }
    public var records: [AuditRecord] { state.withLock { $0.records } }

    public func append(_ rows: AuditRows) async throws(AuditError) {
        await waitIfHeld()
        try state.withLock { state throws(AuditError) in
            if state.failing { throw AuditError.store("disk full") }
            state.records += rows.records
        }
    }

    public func records(matching query: AuditQuery) async throws(AuditError) -> AuditPage {
        AuditPage(records: [], next: nil)
    }
    public func stats(since: Date?) async throws(AuditError) -> AuditStats {
        AuditStats(totalCalls: 0, successRate: 0, avgDurationMs: 0, p95DurationMs: 0, topTools: [])
    }
    public func deleteRecords(olderThan cutoff: Date) async throws(AuditError) -> Int { 0 }
    public func pins(server: String?) async throws(AuditError) -> [ToolPin] { [] }
    public func pinFirstSeen(_ pin: ToolPin) async throws(AuditError) -> ToolPin { pin }
    public func recordCurrent(server: String, tool: String, hash: String?, definition: String?) async throws(AuditError)
    {}
    public func approve(server: String, tools: [String], at time: Date) async throws(AuditError) -> [ToolPin] { [] }
    public func pinsVersion() async throws(AuditError) -> Int64 { 0 }
    public func close() async {}
}
