import Foundation
import NIOCore

/// Audit records as lines of `COPY audit_records FROM STDIN` in PostgreSQL's text format: columns separated by
/// tabs, backslash, tab, newline and carriage return escaped in each value. Made in an array of bytes and handed
/// over as one buffer (the batch's bytes are written one by one; an array takes them cheapest).
struct AuditCopyRows {
    static let columns = ["id", "time_ms", "server", "tool", "caller", "outcome", "duration_ms", "record"]

    private var bytes: [UInt8] = []
    /// The stored fields of the record being written, reused from row to row.
    private var fields: [UInt8] = []

    init(capacity records: Int) {
        bytes.reserveCapacity(records * 320)
        fields.reserveCapacity(512)
    }

    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    mutating func append(_ record: AuditRecord) {
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
        Self.append(record.outcome.rawValue, to: &bytes)
        bytes.append(UInt8(ascii: "\t"))
        bytes.append(utf8Of: String(record.durationMs.isFinite ? record.durationMs : 0))
        bytes.append(UInt8(ascii: "\t"))
        fields.removeAll(keepingCapacity: true)
        record.writeStoredFields(into: &fields)
        fields.withUnsafeBufferPointer { Self.appendJSON($0, to: &bytes) }
        bytes.append(UInt8(ascii: "\n"))
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
