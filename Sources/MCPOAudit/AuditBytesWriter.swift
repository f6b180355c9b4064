import JSONValue

/// Writes an audit record's bytes into room made for them beforehand (`room(for:)`), with no check or growth per
/// piece: the fields of a binary `COPY … FROM STDIN` tuple (each a big-endian length and its bytes), and the record's
/// stored fields as JSON.
struct AuditBytesWriter {
    private let out: UnsafeMutableBufferPointer<UInt8>
    /// Bytes written.
    private(set) var count = 0

    /// `out` must hold at least `room(for:)` bytes of what is written into it.
    init(_ out: UnsafeMutableBufferPointer<UInt8>) {
        self.out = out
    }

    /// The most bytes `record`'s tuple can take: a column's text as it is, a JSON string's byte at most six
    /// (`\u001f`); the names, numbers, lengths and separators fit in the rest.
    static func room(for record: AuditRecord) -> Int {
        func utf8(_ text: String?) -> Int { text?.utf8.count ?? 0 }
        let columns = utf8(record.id) + utf8(record.server) + utf8(record.tool) + utf8(record.caller)
        let strings =
            utf8(record.user) + utf8(record.tenant) + utf8(record.argsSha256) + utf8(record.output)
            + utf8(record.error) + utf8(record.risk) + utf8(record.replica) + utf8(record.traceId)
        return columns + 6 * strings + 400
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

    // MARK: - Binary COPY

    /// `value` big-endian, as every integer of the binary format.
    mutating func bigEndian<Value: FixedWidthInteger>(_ value: Value) {
        UnsafeMutableRawBufferPointer(out).storeBytes(of: value.bigEndian, toByteOffset: count, as: Value.self)
        count += MemoryLayout<Value>.size
    }

    /// One field: its length, then what `write` writes.
    mutating func field(_ write: (inout AuditBytesWriter) -> Void) {
        let start = count
        count += 4
        write(&self)
        let length = UInt32(count - start - 4)
        UnsafeMutableRawBufferPointer(out).storeBytes(of: length.bigEndian, toByteOffset: start, as: UInt32.self)
    }

    /// A text field: its UTF-8 as it is, but for a NUL, which PostgreSQL's text cannot hold (dropped).
    mutating func textField(_ text: String) {
        field { field in
            var text = text
            text.withUTF8 { bytes in
                var runStart = 0
                while let nul = bytes[runStart...].firstIndex(of: 0) {
                    field.copy(UnsafeBufferPointer(rebasing: bytes[runStart..<nul]))
                    runStart = nul + 1
                }
                field.copy(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
            }
        }
    }

    /// A `bigint` field.
    mutating func integerField(_ value: Int64) {
        field { $0.bigEndian(value) }
    }

    /// A `double precision` field.
    mutating func doubleField(_ value: Double) {
        field { $0.bigEndian(value.bitPattern) }
    }

    // MARK: - JSON

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
        switch value {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte(value)
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
}
