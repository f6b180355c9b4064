import Foundation
import MCPOAudit
import Synchronization

/// A store standing in for one that fails on demand: the audit writer's batching, loss counting and recovery, and
/// `audit.required`, without a disk to fill. It keeps the records it was given; it has no pins.
public final class FlakyStore: GovernanceStore {
    public let name = "flaky"
    private let state = Mutex<(failing: Bool, records: [AuditRecord])>((false, []))

    public init() {}

    public func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }
    public var records: [AuditRecord] { state.withLock { $0.records } }

    public func append(_ rows: AuditRows) async throws(AuditError) {
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
