extension JSON {
    /// Compact UTF-8 JSON: keys in their order, `/` unescaped, non-ASCII written as UTF-8.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out)
        return out
    }

    /// `{<members>,"<key>":<encoded>}`: an object whose last member is JSON text encoded already, written as it
    /// is (arguments the proxy checked and passes on unchanged are not encoded a second time).
    public static func writeObject(
        _ members: OrderedJSONObject, appending key: String, encoded: [UInt8], into out: inout [UInt8]
    ) {
        out.append(UInt8(ascii: "{"))
        for (member, value) in members {
            JSON.writeString(member, into: &out)
            out.append(UInt8(ascii: ":"))
            value.write(into: &out)
            out.append(UInt8(ascii: ","))
        }
        JSON.writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        out.append(contentsOf: encoded)
        out.append(UInt8(ascii: "}"))
    }

    /// Compact JSON text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Indented JSON text (two spaces), for files people read.
    public var prettyText: String {
        var out: [UInt8] = []
        write(into: &out, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let number): out.append(contentsOf: number.text.utf8)
        case .string(let string): JSON.writeString(string, into: &out)
        case .array(let array):
            out.append(UInt8(ascii: "["))
            for (position, element) in array.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in object {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSON.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private func write(into out: inout [UInt8], indent: Int) {
        func newline(_ level: Int) {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2))
        }
        switch self {
        case .array(let array) where !array.isEmpty:
            out.append(UInt8(ascii: "["))
            for (position, element) in array.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                element.write(into: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "]"))
        case .object(let object) where !object.isEmpty:
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in object {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                newline(indent + 1)
                JSON.writeString(key, into: &out)
                out.append(contentsOf: ": ".utf8)
                value.write(into: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "}"))
        default:
            write(into: &out)
        }
    }

    /// Writes `string` as a quoted JSON string.
    public static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            forEachStringPart(
                of: bytes, run: { out.append(contentsOf: $0) }, escape: { appendEscape(of: $0, into: &out) })
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Walks `bytes` as the content of a JSON string: each stretch that needs no escaping (nearly all text) goes to
    /// `run` whole, each byte that does (a quote, a backslash, a control character) to `escape`. Writers of JSON
    /// text into buffers of their own share it.
    @inlinable
    public static func forEachStringPart(
        of bytes: UnsafeBufferPointer<UInt8>, run: (UnsafeBufferPointer<UInt8>) -> Void, escape: (UInt8) -> Void
    ) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < index { run(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
            escape(byte)
            runStart = index + 1
        }
        if runStart < bytes.count { run(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
    }

    private static func appendEscape(of byte: UInt8, into out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
        case 0x0A: out.append(contentsOf: #"\n"#.utf8)
        case 0x0D: out.append(contentsOf: #"\r"#.utf8)
        case 0x09: out.append(contentsOf: #"\t"#.utf8)
        case 0x08: out.append(contentsOf: #"\b"#.utf8)
        case 0x0C: out.append(contentsOf: #"\f"#.utf8)
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: #"\u00"#.utf8)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
    }
}

extension JSON: CustomStringConvertible {
    public var description: String { text }
}
