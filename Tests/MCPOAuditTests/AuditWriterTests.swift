import Foundation
import MCPOConfig
import Synchronization
import TestSupport
import Testing

@testable import MCPOAudit

@Suite("the audit writer")
struct AuditWriterTests {
    static let settings = AuditSettings(store: .sqlite(path: "/unused"))

    @Test("records handed over are written; shutdown writes what is pending")
    func flushOnShutdown() async throws {
        let folder = try StoreFolder()
        let store = try await SQLiteStore.open(path: folder.database, logger: quietLogger)
        let writer = AuditWriter(store: store, settings: Self.settings, logger: quietLogger)
        writer.start()
        for index in 0..<500 { writer.submit(record(index)) }
        await writer.shutdown()
        #expect(writer.writtenCount == 500)
        #expect(writer.failedCount == 0)
        #expect(try await store.records(matching: AuditQuery(limit: 1000)).records.count == 500)
        await store.close()
    }

    @Test("a failing store: records are held, calls go on, and the held records are written when it is back")
    func heldAndWritten() async throws {
        let store = FlakyStore()
        let writer = AuditWriter(store: store, settings: Self.settings, logger: quietLogger)
        writer.start()
        store.setFailing(true)
        #expect(await writer.submitAndWait(record(1)) == false)
        #expect(!writer.isHealthy)
        #expect(writer.lastError == "disk full")
        #expect(writer.pendingCount == 1, "held for the next attempt")
        #expect(writer.failedCount == 0, "nothing is lost while it fits")
        store.setFailing(false)
        #expect(await writer.submitAndWait(record(2)) == true)
        #expect(writer.isHealthy)
        writer.submit(record(3))
        await writer.shutdown()
        #expect(store.records.map(\.id) == ["r00001", "r00002", "r00003"])
        #expect(writer.writtenCount == 3)
        #expect(writer.failedCount == 0)
    }

    @Test("a store still failing at shutdown: what is held is lost, and counted")
    func lostAtShutdown() async {
        let store = FlakyStore()
        let writer = AuditWriter(store: store, settings: Self.settings, logger: quietLogger)
        writer.start()
        store.setFailing(true)
        #expect(await writer.submitAndWait(record(1)) == false)
        writer.submit(record(2))
        await writer.shutdown()
        #expect(writer.failedCount == 2)
        #expect(store.records.isEmpty)
    }

    @Test(
        "beyond the bound the oldest held records are lost and counted; the newest are written once the store is back")
    func boundedHold() async {
        let store = FlakyStore()
        let writer = AuditWriter(store: store, settings: Self.settings, logger: quietLogger, pendingBound: 3)
        store.setFailing(true)
        store.holdNextWrite()
        for index in 1...3 { writer.submit(record(index)) }
        writer.submit(record(99))
        #expect(writer.failedCount == 1, "a fourth record does not fit: refused, counted")
        writer.start()
        await store.heldWriteBegan()
        // The batch of three is being written; two more come meanwhile, and the write fails.
        writer.submit(record(4))
        writer.submit(record(5))
        store.release()
        await writer.flush()
        #expect(writer.failedCount == 3, "the two oldest of the five held went")
        #expect(writer.pendingCount == 3)
        store.setFailing(false)
        await writer.shutdown()
        #expect(store.records.map(\.id) == ["r00003", "r00004", "r00005"])
        #expect(writer.writtenCount == 3)
    }

    @Test("after shutdown nothing more is taken (counted as lost)")
    func afterShutdown() async {
        let store = FlakyStore()
        let writer = AuditWriter(store: store, settings: Self.settings, logger: quietLogger)
        writer.start()
        await writer.shutdown()
        writer.submit(record(1))
        #expect(writer.failedCount == 1)
        #expect(await writer.submitAndWait(record(2)) == false)
    }

    @Test("retention deletes records older than retentionDays")
    func retentionRun() async throws {
        let folder = try StoreFolder()
        let store = try await SQLiteStore.open(path: folder.database, logger: quietLogger)
        let now = Date()
        try await store.append([record(1, at: now.addingTimeInterval(-31 * 86_400)), record(2, at: now)])
        let writer = AuditWriter(
            store: store, settings: AuditSettings(store: .sqlite(path: folder.database), retentionDays: 30),
            logger: quietLogger)
        await writer.runRetention(now: now)
        #expect(try await store.records(matching: AuditQuery()).records.map(\.id) == ["r00002"])
        await store.close()
    }
}
