import JSONValue

/// Writes an audit record's bytes into room made for them beforehand (`room(for:)`), with no check or growth per
/// piece: the columns of a `COPY … FROM STDIN` text line, and the record's stored fields as JSON, either plain or with
/// the text format's escapes (its backslashes doubled) in the same pass.
struct AuditLineWriter {
    private let out: UnsafeMutableBufferPointer<UInt8>
    /// Bytes written.
    private(set) var count = 0
    /// Whether JSON is written for a COPY line (each backslash of its escapes doubled) or as it is.
    private let escapesForCopy: Bool

    /// `out` must hold at least `room(for:)` bytes of what is written into it.
    init(_ out: UnsafeMutableBufferPointer<UInt8>, escapesForCopy: Bool) {
        self.out = out
        self.escapesForCopy = escapesForCopy
    }

    /// The most bytes `record`'s line can take: a column's byte escaped is at most two bytes, a JSON string's at most
    /// seven (`\u001f` with its backslash doubled); the names, numbers and separators fit in the rest.
    static func room(for record: AuditRecord) -> Int {
        func utf8(_ text: String?) -> Int { text?.utf8.count ?? 0 }
        let columns = utf8(record.id) + utf8(record.server) + utf8(record.tool) + utf8(record.caller)
        let strings =
            utf8(record.user) + utf8(record.tenant) + utf8(record.argsSha256) + utf8(record.output)
            + utf8(record.error) + utf8(record.risk) + utf8(record.replica) + utf8(record.traceId)
        return 2 * columns + 7 * strings + 400
    }

    mutating func byte(_ byte: UInt8) {
        out[count] = byte
        count += 1
    }

    /// The last byte written becomes `byte`.
    mutating func replaceLast(with byte: UInt8) {
        out[count - 1] = byte
    }

    mutating func literal(_ text: StaticString) {
        text.withUTF8Buffer { copy($0) }
    }

    private mutating func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (out.baseAddress! + count).update(from: source, count: bytes.count)  // room(for:) made `out` non-empty
        count += bytes.count
    }

    /// A column's text: backslash, tab, newline and carriage return escaped, a NUL (which PostgreSQL's text cannot
    /// hold) dropped; runs without any of them (nearly all text) copied whole.
    mutating func column(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let escaped: UInt8
                switch bytes[index] {
                case 0x5C: escaped = UInt8(ascii: "\\")
                case 0x09: escaped = UInt8(ascii: "t")
                case 0x0A: escaped = UInt8(ascii: "n")
                case 0x0D: escaped = UInt8(ascii: "r")
                case 0: escaped = 0
                default: continue
                }
                copy(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                if escaped != 0 {
                    byte(UInt8(ascii: "\\"))
                    byte(escaped)
                }
                runStart = index + 1
            }
            copy(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
    }

    /// `text` as a quoted JSON string (the escapes of `JSON.writeString`).
    mutating func jsonString(_ text: String) {
        byte(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            JSON.forEachStringPart(of: bytes, run: { copy($0) }, escape: { escape($0) })
        }
        byte(UInt8(ascii: "\""))
    }

    private mutating func escape(_ value: UInt8) {
        byte(UInt8(ascii: "\\"))
        if escapesForCopy { byte(UInt8(ascii: "\\")) }
        switch value {
        case UInt8(ascii: "\""): byte(value)
        case UInt8(ascii: "\\"):
            byte(value)
            if escapesForCopy { byte(value) }
        case 0x0A: byte(UInt8(ascii: "n"))
        case 0x0D: byte(UInt8(ascii: "r"))
        case 0x09: byte(UInt8(ascii: "t"))
        case 0x08: byte(UInt8(ascii: "b"))
        case 0x0C: byte(UInt8(ascii: "f"))
        default:
            literal("u00")
            byte(Digest.hexDigit(value >> 4))
            byte(Digest.hexDigit(value & 0x0F))
        }
    }

    /// Decimal digits (at most 20 bytes).
    mutating func integer(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var rest = value.magnitude
        let start = count
        repeat {
            byte(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        // Written backwards: the last digit first.
        var (low, high) = (start, count - 1)
        while low < high {
            out.swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    /// Milliseconds to the microsecond, `12.345` (at most 20 bytes): what the audit log shows of a duration. A value
    /// beyond a thousand years or not a number is written as 0.
    mutating func milliseconds(_ value: Double) {
        let microseconds = (value * 1000).rounded()
        guard microseconds.isFinite, microseconds.magnitude < 3.2e16 else {
            byte(UInt8(ascii: "0"))
            return
        }
        let whole = Int64(microseconds)
        if whole < 0 { byte(UInt8(ascii: "-")) }
        integer(Int64(whole.magnitude / 1000))
        byte(UInt8(ascii: "."))
        let fraction = Int(whole.magnitude % 1000)
        byte(UInt8(ascii: "0") + UInt8(fraction / 100))
        byte(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        byte(UInt8(ascii: "0") + UInt8(fraction % 10))
    }
}
