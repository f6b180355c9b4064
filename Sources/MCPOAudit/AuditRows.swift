import Foundation
import NIOCore

/// Audit records encoded once, as they are handed over, as the tuples of PostgreSQL's binary `COPY … FROM STDIN`
/// format: the number of fields, then each field's length and bytes (text as UTF-8, the time and the duration as
/// big-endian 8-byte integer and float). PostgreSQL takes them without parsing text into numbers (a sixth less of its
/// time a record than the text format); SQLite reads the fields back. A record kept as bytes from the call that made
/// it to the write leaves nothing behind on the call's thread to be freed by the writer's.
public struct AuditRows: Sendable {
    /// The columns of each tuple, in order.
    public static let columns = ["id", "time_ms", "server", "tool", "caller", "outcome", "duration_ms", "record"]

    private var bytes: ByteBuffer
    /// How many records the tuples hold.
    public private(set) var count = 0

    /// Room for about `records` records without growing.
    public init(reservingFor records: Int = 0) {
        bytes = ByteBufferAllocator().buffer(capacity: records * 320)
    }

    public init(_ records: some Sequence<AuditRecord>) {
        self.init()
        for record in records { append(record) }
    }

    public var isEmpty: Bool { count == 0 }

    /// The tuples alone.
    var tuples: ByteBuffer { bytes }

    /// A binary COPY's data in three parts, none of them a copy: the format's signature, flags and header extension
    /// (none), the tuples, and the trailer.
    var copyParts: [ByteBuffer] { [Self.copyHeader, bytes, Self.copyTrailer] }

    static let copyHeader = ByteBuffer(
        bytes: Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [UInt8](repeating: 0, count: 8))
    static let copyTrailer = ByteBuffer(bytes: [0xFF, 0xFF])

    /// Writes `record`'s tuple into room made for its longest possible form, once.
    public mutating func append(_ record: AuditRecord) {
        bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: AuditBytesWriter.room(for: record)) { raw in
            var tuple = AuditBytesWriter(raw.bindMemory(to: UInt8.self))
            tuple.bigEndian(Int16(Self.columns.count))
            tuple.textField(record.id)
            tuple.integerField(AuditCursor.milliseconds(of: record.time))
            tuple.textField(record.server)
            tuple.textField(record.tool)
            tuple.textField(record.caller)
            tuple.textField(record.outcome.rawValue)
            tuple.doubleField(Self.storedDuration(record.durationMs))
            tuple.field { record.writeStoredFields(into: &$0) }
            return tuple.count
        }
        count += 1
    }

    /// Milliseconds to the microsecond, what the audit log keeps of a duration; a value beyond a thousand years or not
    /// a number is kept as 0.
    static func storedDuration(_ milliseconds: Double) -> Double {
        let microseconds = (milliseconds * 1000).rounded()
        guard microseconds.isFinite, microseconds.magnitude < 3.2e16, microseconds != 0 else { return 0 }
        return microseconds / 1000
    }

    /// `other`'s records after these.
    public mutating func append(contentsOf other: AuditRows) {
        bytes.writeImmutableBuffer(other.bytes)
        count += other.count
    }

    /// Drops every record and keeps the room they took.
    public mutating func removeAll() {
        bytes.clear()
        count = 0
    }

    /// Drops the oldest `records` records (all of them when there are fewer).
    public mutating func removeFirst(_ records: Int) {
        guard records < count else {
            self = AuditRows()
            return
        }
        guard records > 0 else { return }
        var end = bytes.readerIndex
        for _ in 0..<records { end = Self.tupleEnd(in: bytes, from: end) }
        bytes.moveReaderIndex(to: end)
        count -= records
    }

    /// Where the tuple that starts at `start` ends: after its field count and each field's length and bytes.
    private static func tupleEnd(in bytes: ByteBuffer, from start: Int) -> Int {
        var index = start + 2
        for _ in 0..<columns.count {
            let length = bytes.getInteger(at: index, as: Int32.self) ?? 0
            index += 4 + max(0, Int(length))
        }
        return index
    }

    /// One tuple's fields.
    public struct Row: Sendable, Equatable {
        public var id: String
        public var timeMilliseconds: Int64
        public var server: String
        public var tool: String
        public var caller: String
        public var outcome: String
        public var durationMs: Double
        /// The record's other fields as JSON (`AuditRecord.storedText`).
        public var storedText: String

        /// The record the row holds (its time to the millisecond).
        public var record: AuditRecord {
            AuditRecord(
                id: id, time: Date(timeIntervalSince1970: Double(timeMilliseconds) / 1000), server: server,
                tool: tool, caller: caller, outcome: outcome, durationMs: durationMs, storedText: storedText)
        }
    }

    /// The tuples read back.
    public var rows: [Row] {
        var rows: [Row] = []
        rows.reserveCapacity(count)
        var reader = bytes
        while reader.readableBytes > 0, let row = Self.row(from: &reader) { rows.append(row) }
        return rows
    }

    private static func row(from reader: inout ByteBuffer) -> Row? {
        // Never refused: `append` wrote every tuple.
        guard reader.readInteger(as: Int16.self) == Int16(columns.count) else { return nil }
        func field() -> ByteBuffer? {
            guard let length = reader.readInteger(as: Int32.self) else { return nil }
            return reader.readSlice(length: Int(length))
        }
        func text() -> String? { field().map { String(buffer: $0) } }
        guard let id = text(), let time = field()?.getInteger(at: 0, as: Int64.self), let server = text(),
            let tool = text(), let caller = text(), let outcome = text(),
            let duration = field()?.getInteger(at: 0, as: UInt64.self), let storedText = text()
        else { return nil }
        return Row(
            id: id, timeMilliseconds: time, server: server, tool: tool, caller: caller, outcome: outcome,
            durationMs: Double(bitPattern: duration), storedText: storedText)
    }

    /// The records the tuples hold.
    public var records: [AuditRecord] { rows.map(\.record) }
}
