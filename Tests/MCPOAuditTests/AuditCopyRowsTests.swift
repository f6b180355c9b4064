import Foundation
import JSONValue
import NIOCore
import Testing

@testable import MCPOAudit

@Suite("audit records as PostgreSQL COPY rows and stored fields")
struct AuditCopyRowsTests {
    private func line(_ record: AuditRecord) -> String {
        var rows = AuditCopyRows(capacity: 1)
        rows.append(record)
        return String(buffer: rows.buffer)
    }

    @Test("columns in order, tab-separated; the stored fields hold the rest without the empty ones")
    func plainRow() {
        let record = AuditRecord(
            id: "r1", time: Date(timeIntervalSince1970: 1_796_523_038.123), caller: "ci", server: "kitchen",
            tool: "cook", argsSha256: "ab", status: 200, outcome: .ok, durationMs: 1.5, replica: "r")
        #expect(
            line(record)
                == "r1\t1796523038123\tkitchen\tcook\tci\tok\t1.5\t{\"argsSha256\":\"ab\",\"status\":200,\"replica\":\"r\"}\n"
        )
        #expect(record.storedText == #"{"argsSha256":"ab","status":200,"replica":"r"}"#)
    }

    @Test("backslash, tab, newline and carriage return are escaped in every column; a NUL is dropped")
    func escapes() {
        var record = AuditRecord(
            id: "r\\2", time: Date(timeIntervalSince1970: 0), caller: "a\tb\nc\rd\u{0}e", server: "s", tool: "t",
            argsSha256: "00", status: 500, outcome: .toolError, durationMs: 0, replica: "r")
        record.output = "say \"hi\"\n\t\\"
        record.user = "zoë"
        let text = line(record)
        #expect(text.hasPrefix("r\\\\2\t0\ts\tt\ta\\tb\\nc\\rde\ttool_error\t0.0\t"))
        #expect(text.hasSuffix("\n"))
        #expect(text.dropLast().split(separator: "\t", omittingEmptySubsequences: false).count == 8)
        // The record column is the stored fields' JSON with its backslashes doubled, nothing else changed.
        let stored = String(text.dropLast().split(separator: "\t", omittingEmptySubsequences: false)[7])
        #expect(stored == record.storedText.replacingOccurrences(of: "\\", with: "\\\\"))
        #expect(!stored.contains("\n") && !stored.contains("\t"))
    }

    @Test("a record read back from its columns and stored fields is the record written; old whole-record rows read too")
    func readBack() throws {
        var record = AuditRecord(
            id: "r3", time: Date(timeIntervalSince1970: 1_796_523_038), caller: "alice", user: "alice@acme",
            tenant: "acme", server: "kitchen", tool: "cook", argsSha256: "ff", status: 428,
            outcome: .confirmationRequired, durationMs: 0.25, output: "{}", error: "confirm first", risk: "high",
            replica: "r1", traceId: "4bf92f3577b34da6a3ce929d0e0e4736")
        let columns = (
            id: record.id, time: record.time, server: record.server, tool: record.tool, caller: record.caller,
            outcome: record.outcome.rawValue, duration: record.durationMs
        )
        let read = AuditRecord(
            id: columns.id, time: columns.time, server: columns.server, tool: columns.tool, caller: columns.caller,
            outcome: columns.outcome, durationMs: columns.duration, storedText: record.storedText)
        #expect(read == record)
        // Rows of earlier versions keep the whole record as JSON; the columns win where both say something.
        guard case .object(var object) = record.json else {
            Issue.record("a record's JSON is an object")
            return
        }
        object["time"] = nil
        let whole = JSON.object(object)
        let old = AuditRecord(
            id: columns.id, time: columns.time, server: columns.server, tool: columns.tool, caller: columns.caller,
            outcome: columns.outcome, durationMs: columns.duration, storedText: whole.text)
        #expect(old == record)
        record.outcome = .ok
        #expect(
            AuditRecord(
                id: "r3", time: record.time, server: "kitchen", tool: "cook", caller: "alice", outcome: "ok",
                durationMs: 0.25, storedText: whole.text) == record)
    }
}
