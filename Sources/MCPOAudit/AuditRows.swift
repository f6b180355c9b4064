import Foundation
import NIOCore

/// Audit records encoded once, as they are handed over, in the lines of PostgreSQL's `COPY … FROM STDIN` text
/// format: columns separated by tabs, backslash, tab, newline and carriage return escaped in each value, one line a
/// record. PostgreSQL takes the bytes as they are; SQLite reads the columns back. A record kept as bytes from the
/// call that made it to the write leaves nothing behind on the call's thread to be freed by the writer's.
public struct AuditRows: Sendable {
    /// The columns of each line, in order.
    public static let columns = ["id", "time_ms", "server", "tool", "caller", "outcome", "duration_ms", "record"]

    private var bytes: ByteBuffer
    /// How many records the lines hold.
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

    /// The lines, as PostgreSQL's COPY takes them.
    var buffer: ByteBuffer { bytes }

    /// Writes `record`'s line into room made for its longest possible form, once.
    public mutating func append(_ record: AuditRecord) {
        bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: AuditLineWriter.room(for: record)) { raw in
            var line = AuditLineWriter(raw.bindMemory(to: UInt8.self), escapesForCopy: true)
            line.column(record.id)
            line.byte(0x09)
            line.integer(AuditCursor.milliseconds(of: record.time))
            line.byte(0x09)
            line.column(record.server)
            line.byte(0x09)
            line.column(record.tool)
            line.byte(0x09)
            line.column(record.caller)
            line.byte(0x09)
            line.column(record.outcome.rawValue)
            line.byte(0x09)
            line.milliseconds(record.durationMs)
            line.byte(0x09)
            record.writeStoredFields(into: &line)
            line.byte(0x0A)
            return line.count
        }
        count += 1
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
        // Lines end at their one unescaped newline: a value's newlines are written `\n`.
        let view = bytes.readableBytesView
        var end = view.startIndex
        for _ in 0..<records {
            guard let newline = view[end...].firstIndex(of: 0x0A) else { break }
            end = newline + 1
        }
        bytes.moveReaderIndex(forwardBy: end - view.startIndex)
        count -= records
    }

    /// One line's columns, unescaped.
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

    /// The lines read back.
    public var rows: [Row] {
        var rows: [Row] = []
        rows.reserveCapacity(count)
        bytes.withUnsafeReadableBytes { raw in
            let all = raw.bindMemory(to: UInt8.self)
            var values: [String] = []
            values.reserveCapacity(Self.columns.count)
            // Values are taken whole from the buffer; only one with an escape (rare) is copied as it is read.
            var start = 0
            var unescaped: [UInt8]?
            var index = 0
            while index < all.count {
                let byte = all[index]
                if byte == UInt8(ascii: "\\") {
                    var value = unescaped ?? []
                    value.append(contentsOf: UnsafeBufferPointer(rebasing: all[start..<index]))
                    let escape = index + 1 < all.count ? all[index + 1] : byte
                    switch escape {
                    case UInt8(ascii: "t"): value.append(0x09)
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "r"): value.append(0x0D)
                    default: value.append(escape)
                    }
                    unescaped = value
                    index += 2
                    start = index
                    continue
                }
                if byte == 0x09 || byte == 0x0A {
                    let run = UnsafeBufferPointer(rebasing: all[start..<index])
                    if var value = unescaped {
                        value.append(contentsOf: run)
                        values.append(String(decoding: value, as: UTF8.self))
                        unescaped = nil
                    } else {
                        values.append(String(decoding: run, as: UTF8.self))
                    }
                    start = index + 1
                    if byte == 0x0A {
                        if let row = Self.row(values) { rows.append(row) }
                        values.removeAll(keepingCapacity: true)
                    }
                }
                index += 1
            }
        }
        return rows
    }

    /// The records the lines hold.
    public var records: [AuditRecord] { rows.map(\.record) }

    private static func row(_ values: [String]) -> Row? {
        guard values.count == columns.count, let time = Int64(values[1]), let duration = Double(values[6]) else {
            return nil  // never: every line is written by `append`
        }
        return Row(
            id: values[0], timeMilliseconds: time, server: values[2], tool: values[3], caller: values[4],
            outcome: values[5], durationMs: duration, storedText: values[7])
    }
}
