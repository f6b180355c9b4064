/// A minimal structural JSON scanner over raw bytes: enough to find a few members of a JSON-RPC
/// message without decoding anything. Values are returned as byte ranges of the input, so a string
/// can be copied into an answer exactly as it arrived (escapes included), which is still valid JSON.
///
/// It checks structure (brackets, strings, escapes) but not every detail of the grammar; the stub
/// only ever reads what a well-behaved MCP client sends.
struct JSONScan {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The range of the top-level object or array, without surrounding whitespace.
    var root: Range<Int>? {
        let start = skipWhitespace(from: 0)
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{") || bytes[start] == UInt8(ascii: "[") else {
            return nil
        }
        guard let end = valueEnd(from: start) else { return nil }
        guard skipWhitespace(from: end) == bytes.count else { return nil }
        return start..<end
    }

    /// The value of member `key` of the object spanning `object`, or nil when `object` is not an
    /// object or has no such member. `key` is compared byte for byte (keys with escapes never match).
    func member(_ key: StaticString, in object: Range<Int>) -> Range<Int>? {
        guard object.lowerBound < object.upperBound, bytes[object.lowerBound] == UInt8(ascii: "{") else {
            return nil
        }
        var index = skipWhitespace(from: object.lowerBound + 1)
        if index < object.upperBound, bytes[index] == UInt8(ascii: "}") { return nil }
        while index < object.upperBound {
            guard bytes[index] == UInt8(ascii: "\""), let keyEnd = stringEnd(from: index) else { return nil }
            let matches = equals(index + 1..<keyEnd - 1, key)
            index = skipWhitespace(from: keyEnd)
            guard index < object.upperBound, bytes[index] == UInt8(ascii: ":") else { return nil }
            let valueStart = skipWhitespace(from: index + 1)
            guard let valueEnd = valueEnd(from: valueStart) else { return nil }
            if matches { return valueStart..<valueEnd }
            index = skipWhitespace(from: valueEnd)
            guard index < object.upperBound else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return nil }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index = skipWhitespace(from: index + 1)
        }
        return nil
    }

    /// The contents (between the quotes, still escaped) of the string value spanning `value`.
    func stringContents(_ value: Range<Int>) -> Range<Int>? {
        guard value.count >= 2, bytes[value.lowerBound] == UInt8(ascii: "\"") else { return nil }
        return value.lowerBound + 1..<value.upperBound - 1
    }

    func isString(_ value: Range<Int>) -> Bool {
        !value.isEmpty && bytes[value.lowerBound] == UInt8(ascii: "\"")
    }

    func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        var offset = 0
        for index in range {
            if bytes[index] != expected[offset] { return false }
            offset += 1
        }
        return true
    }

    /// Whether the bytes of `range` equal `other`.
    func equals(_ range: Range<Int>, _ other: [UInt8]) -> Bool {
        guard range.count == other.count else { return false }
        var offset = 0
        for index in range {
            if bytes[index] != other[offset] { return false }
            offset += 1
        }
        return true
    }

    func skipWhitespace(from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return index
            }
        }
        return index
    }

    /// The index just past the value starting at `start`.
    func valueEnd(from start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return stringEnd(from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return containerEnd(from: start)
        default:
            // Numbers and literals run to the next delimiter.
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "), UInt8(ascii: "\t"),
                    UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    return index > start ? index : nil
                default: index += 1
                }
            }
            return index > start ? index : nil
        }
    }

    /// The index just past the closing quote of the string whose opening quote is at `start`.
    func stringEnd(from start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""): return index + 1
            case UInt8(ascii: "\\"): index += 2
            default: index += 1
            }
        }
        return nil
    }

    /// The index just past the bracket closing the object or array opened at `start`.
    private func containerEnd(from start: Int) -> Int? {
        var depth = 0
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                guard let end = stringEnd(from: index) else { return nil }
                index = end
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return index + 1 }
            default:
                break
            }
            index += 1
        }
        return nil
    }
}
