import Foundation
import NIOCore

/// Audit records encoded once, as they are handed over, in the lines of PostgreSQL's `COPY … FROM STDIN` text
/// format: columns separated by tabs, backslash, tab, newline and carriage return escaped in each value, one line a
/// record. PostgreSQL takes the bytes as they are; SQLite reads the columns back. A record kept as bytes from the
/// call that made it to the write leaves nothing behind on the call's thread to be freed by the writer's.
public struct AuditRows: Sendable {
    /// The columns of each line, in order.
    public static let columns = ["id", "time_ms", "server", "tool", "caller", "outcome", "duration_ms", "record"]

    private var bytes: [UInt8] = []
    /// How many records the lines hold.
    public private(set) var count = 0
    /// The stored fields of the record being written, reused from record to record.
    private var fields: [UInt8] = []

    /// Room for about `records` records without growing.
    public init(reservingFor records: Int = 0) {
        bytes.reserveCapacity(records * 320)
    }

    public init(_ records: some Sequence<AuditRecord>) {
        self.init()
        for record in records { append(record) }
    }

    public var isEmpty: Bool { count == 0 }

    /// The lines, as PostgreSQL's COPY takes them.
    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    public mutating func append(_ record: AuditRecord) {
        Self.append(record.id, to: &bytes)
        bytes.append(UInt8(ascii: "\t"))
        bytes.append(utf8Of: String(AuditCursor.milliseconds(of: record.time)))
        bytes.append(UInt8(ascii: "\t"))
        Self.append(record.server, to: &bytes)
        bytes.append(UInt8(ascii: "\t"))
        Self.append(record.tool, to: &bytes)
        bytes.append(UInt8(ascii: "\t"))
        Self.append(record.caller, to: &bytes)
        bytes.append(UInt8(ascii: "\t"))
        bytes.append(utf8Of: record.outcome.rawValue)  // plain words: nothing to escape
        bytes.append(UInt8(ascii: "\t"))
        bytes.append(utf8Of: String(record.durationMs.isFinite ? record.durationMs : 0))
        bytes.append(UInt8(ascii: "\t"))
        fields.removeAll(keepingCapacity: true)
        record.writeStoredFields(into: &fields)
        fields.withUnsafeBufferPointer { Self.appendJSON($0, to: &bytes) }
        bytes.append(UInt8(ascii: "\n"))
        count += 1
    }

    /// `other`'s records after these.
    public mutating func append(contentsOf other: AuditRows) {
        bytes.append(contentsOf: other.bytes)
        count += other.count
    }

    /// Drops the oldest `records` records (all of them when there are fewer).
    public mutating func removeFirst(_ records: Int) {
        guard records < count else {
            self = AuditRows()
            return
        }
        guard records > 0 else { return }
        // Lines end at their one unescaped newline: a value's newlines are written `\n`.
        var end = 0
        for _ in 0..<records {
            guard let newline = bytes[end...].firstIndex(of: 0x0A) else { break }
            end = newline + 1
        }
        bytes.removeFirst(end)
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
        bytes.withUnsafeBufferPointer { all in
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

    /// JSON text escaped for the text format: it has no raw control characters (JSON escapes them), so only its
    /// backslashes need doubling, found with `memchr`.
    static func appendJSON(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        guard var rest = UnsafeRawBufferPointer(text).baseAddress, text.count > 0 else { return }
        let end = rest + text.count
        while let found = memchr(rest, 0x5C, end - rest) {
            let backslash = UnsafeRawPointer(found)
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: rest, count: backslash - rest + 1))
            bytes.append(UInt8(ascii: "\\"))
            rest = backslash + 1
        }
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: rest, count: end - rest))
    }

    /// `text` escaped for the text format.
    static func append(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { append($0, to: &bytes) }
    }

    /// `text` escaped for the text format (a NUL, which PostgreSQL's text cannot hold, is dropped). Runs that need
    /// no escaping (nearly all) are copied whole: JSON text has none of these bytes but the backslashes of its escapes.
    static func append(_ text: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        var runStart = 0
        for index in 0..<text.count {
            let escaped: UInt8
            switch text[index] {
            case 0x5C: escaped = UInt8(ascii: "\\")
            case 0x09: escaped = UInt8(ascii: "t")
            case 0x0A: escaped = UInt8(ascii: "n")
            case 0x0D: escaped = UInt8(ascii: "r")
            case 0: escaped = 0
            default: continue
            }
            if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<index])) }
            if escaped != 0 {
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(escaped)
            }
            runStart = index + 1
        }
        if runStart < text.count {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<text.count]))
        }
    }
}
