import Foundation
import JSONValue
import NIOCore
import Testing

@testable import MCPOAudit

@Suite("audit records as PostgreSQL binary COPY tuples and stored fields")
struct AuditRowsTests {
    /// `record`'s tuple, split by a reader of the binary format written here: the field count, then each field's
    /// big-endian length and bytes.
    private func fields(_ record: AuditRecord) -> [[UInt8]] {
        var rows = AuditRows(reservingFor: 1)
        rows.append(record)
        let bytes = Array(rows.tuples.readableBytesView)
        func integer(at index: Int, size: Int) -> Int {
            bytes[index..<index + size].reduce(0) { $0 << 8 | Int($1) }
        }
        #expect(integer(at: 0, size: 2) == 8)
        var fields: [[UInt8]] = []
        var index = 2
        while index < bytes.count {
            let length = integer(at: index, size: 4)
            fields.append(Array(bytes[index + 4..<index + 4 + length]))
            index += 4 + length
        }
        #expect(index == bytes.count)
        return fields
    }

    private func bigEndian<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    private func text(_ field: [UInt8]) -> String { String(decoding: field, as: UTF8.self) }

    /// A record with something awkward in every field a row holds.
    private func awkward(_ index: Int) -> AuditRecord {
        AuditRecord(
            id: "r\\\(index)\t", time: Date(timeIntervalSince1970: 1_796_523_038.123 + Double(index)),
            caller: "a\tb\nc\rd\u{0}e", user: "zoë", tenant: "acme\n", server: "kit\\chen", tool: "cook\r",
            argsSha256: String(repeating: "f", count: 64), status: 200 + index, outcome: .toolError,
            durationMs: 0.1 * Double(index), output: "say \"hi\"\n\t\\ \u{1F600}", error: "bad\\\n",
            risk: "high", replica: "r\t1", traceId: "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test("eight fields in the columns' order; the stored fields hold the rest without the empty ones")
    func plainRow() {
        let record = AuditRecord(
            id: "r1", time: Date(timeIntervalSince1970: 1_796_523_038.123), caller: "ci", server: "kitchen",
            tool: "cook", argsSha256: "ab", status: 200, outcome: .ok, durationMs: 1.5, replica: "r")
        let stored = #"{"argsSha256":"ab","status":200,"replica":"r"}"#
        #expect(
            fields(record) == [
                Array("r1".utf8), bigEndian(Int64(1_796_523_038_123)), Array("kitchen".utf8), Array("cook".utf8),
                Array("ci".utf8), Array("ok".utf8), bigEndian((1.5).bitPattern), Array(stored.utf8),
            ])
        #expect(record.storedText == stored)
    }

    @Test("text goes as it is, backslashes, tabs, newlines and carriage returns included; a NUL is dropped")
    func textAsItIs() {
        var record = AuditRecord(
            id: "r\\2", time: Date(timeIntervalSince1970: 0), caller: "a\tb\nc\rd\u{0}e\u{0}", server: "s\u{0}",
            tool: "t", argsSha256: "00", status: 500, outcome: .toolError, durationMs: 0, replica: "r")
        record.output = "say \"hi\"\n\t\\"
        record.user = "zoë \u{1F600}"
        let fields = fields(record)
        #expect(fields.count == 8)
        #expect(text(fields[0]) == "r\\2")
        #expect(text(fields[2]) == "s")
        #expect(text(fields[4]) == "a\tb\nc\rde")
        #expect(text(fields[5]) == "tool_error")
        // The record field is the stored fields' JSON, nothing changed.
        #expect(text(fields[7]) == record.storedText)
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

    @Test(
        "rows read back are the records written (a NUL dropped, the time to the millisecond, the duration to the microsecond)"
    )
    func rowsReadBack() {
        let records = (0..<3).map(awkward)
        let rows = AuditRows(records)
        #expect(rows.count == 3)
        let read = rows.records
        #expect(read.count == 3)
        for (written, back) in zip(records, read) {
            var expected = written
            expected.caller = "a\tb\nc\rde"
            expected.time = Date(timeIntervalSince1970: Double(AuditCursor.milliseconds(of: written.time)) / 1000)
            expected.durationMs = (written.durationMs * 1000).rounded() / 1000
            #expect(back == expected)
        }
        #expect(rows.rows.map(\.timeMilliseconds) == records.map { AuditCursor.milliseconds(of: $0.time) })
        #expect(AuditRows().rows.isEmpty)
    }

    @Test("the oldest rows are dropped whole; rows appended after others keep their order")
    func dropAndJoin() {
        var rows = AuditRows((0..<5).map(awkward))
        rows.removeFirst(2)
        #expect(rows.count == 3)
        #expect(rows.rows.map(\.id) == (2..<5).map { "r\\\($0)\t" })
        var joined = AuditRows([awkward(9)])
        joined.append(contentsOf: rows)
        #expect(joined.count == 4)
        #expect(joined.records.map(\.status) == [209, 202, 203, 204])
        rows.removeFirst(0)
        #expect(rows.count == 3)
        rows.removeFirst(7)
        #expect(rows.isEmpty && rows.rows.isEmpty)
        // Emptied for reuse: what is appended next is all it holds.
        joined.removeAll()
        #expect(joined.isEmpty && joined.rows.isEmpty)
        joined.append(awkward(4))
        #expect(joined.records.map(\.status) == [204])
    }

    @Test("stored fields are the JSON the JSON writer makes, control characters and quotes included")
    func storedFieldsEscapes() throws {
        let awkward = "q\"b\\s\u{1}\u{8}\u{c}\u{1f}\n\r\tzoë \u{1F600}"
        var record = AuditRecord(
            id: "r", time: Date(timeIntervalSince1970: 0), caller: "c", server: "s", tool: "t", argsSha256: awkward,
            status: -7, outcome: .ok, durationMs: 0, replica: awkward)
        record.output = awkward
        var expected: [UInt8] = []
        JSON.writeString(awkward, into: &expected)
        let quoted = String(decoding: expected, as: UTF8.self)
        #expect(
            record.storedText
                == "{\"argsSha256\":\(quoted),\"status\":-7,\"output\":\(quoted),\"replica\":\(quoted)}")
        let parsed = try JSON.parse(Array(record.storedText.utf8))
        #expect(parsed["output"]?.stringValue == awkward)
    }

    @Test(
        "numbers: the time in milliseconds as a bigint, the status as a JSON integer, the duration to the microsecond")
    func numbers() {
        var record = AuditRecord(
            id: "r", time: Date(timeIntervalSince1970: -1.5), caller: "c", server: "s", tool: "t", argsSha256: "",
            status: Int(Int64.max), outcome: .ok, durationMs: 0.0004, replica: "r")
        #expect(fields(record)[1] == bigEndian(Int64(-1500)))
        #expect(fields(record)[6] == bigEndian((0.0).bitPattern))
        #expect(text(fields(record)[7]).contains("\"status\":9223372036854775807,"))
        let durations: [(Double, Double)] = [
            (0.0005, 0.001), (12.3456, 12.346), (1000, 1000), (-2.5, -2.5), (-0.25, -0.25), (-0.0004, 0),
            (86_400_000.125, 86_400_000.125), (.nan, 0), (.infinity, 0), (1e300, 0),
        ]
        for (duration, stored) in durations {
            record.durationMs = duration
            #expect(fields(record)[6] == bigEndian(stored.bitPattern), "\(duration)")
        }
        record.time = Date(timeIntervalSince1970: 0)
        record.status = 0
        #expect(fields(record)[1] == bigEndian(Int64(0)))
        #expect(text(fields(record)[7]).contains("\"status\":0,"))
    }

    @Test("a COPY's data: the binary format's signature, no flags, no header extension, the tuples, the trailer")
    func copyData() {
        let rows = AuditRows((0..<2).map(awkward))
        func joined(_ rows: AuditRows) -> [UInt8] { rows.copyParts.flatMap { Array($0.readableBytesView) } }
        let data = joined(rows)
        let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0] + [0, 0, 0, 0] + [0, 0, 0, 0]
        #expect(Array(data.prefix(19)) == header)
        #expect(Array(data.dropFirst(19).dropLast(2)) == Array(rows.tuples.readableBytesView))
        #expect(Array(data.suffix(2)) == [0xFF, 0xFF])
        #expect(joined(AuditRows()) == header + [0xFF, 0xFF])
    }
}
