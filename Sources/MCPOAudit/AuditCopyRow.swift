import NIOCore

/// An audit record as one line of `COPY audit_records FROM STDIN` in PostgreSQL's text format: columns separated by
/// tabs, backslash, tab, newline and carriage return escaped in each value.
enum AuditCopyRow {
    static let columns = ["id", "time_ms", "server", "tool", "caller", "outcome", "duration_ms", "record"]

    static func write(_ record: AuditRecord, into buffer: inout ByteBuffer) {
        append(record.id, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(AuditCursor.milliseconds(of: record.time)))
        buffer.writeInteger(UInt8(ascii: "\t"))
        append(record.server, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        append(record.tool, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        append(record.caller, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(record.outcome.rawValue)
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(record.durationMs.isFinite ? String(record.durationMs) : "0")
        buffer.writeInteger(UInt8(ascii: "\t"))
        append(record.storedText, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// `text` escaped for the text format (a NUL, which PostgreSQL's text cannot hold, is dropped).
    static func append(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { bytes in
            guard bytes.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
                buffer.writeBytes(bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case 0x5C: buffer.writeStaticString("\\\\")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0: break
                default: buffer.writeInteger(byte)
                }
            }
        }
    }
}
