import OrderedCollections

/// Why a text is not valid JSON, with the place: `offset` counts bytes from 0, `line` and `column` from 1.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public let line: Int
    public let column: Int

    public var description: String { "\(message) at line \(line), column \(column)" }
}

/// Parser options. Strict JSON by default; config files may relax it (mcpo's own README example has comments).
public struct JSONParseOptions: Sendable {
    public var allowComments: Bool
    public var allowTrailingCommas: Bool
    /// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
    public var maxDepth: Int

    public init(allowComments: Bool = false, allowTrailingCommas: Bool = false, maxDepth: Int = 512) {
        self.allowComments = allowComments
        self.allowTrailingCommas = allowTrailingCommas
        self.maxDepth = maxDepth
    }

    public static let strict = JSONParseOptions()
    public static let lenientConfig = JSONParseOptions(allowComments: true, allowTrailingCommas: true)
}

extension JSON {
    /// Parses one JSON value that spans the whole input (surrounding white space allowed).
    public static func parse<Bytes: Sequence>(_ bytes: Bytes, options: JSONParseOptions = .strict)
        throws(JSONParseError)
        -> JSON where Bytes.Element == UInt8
    {
        let result: Result<JSON, JSONParseError> =
            bytes.withContiguousStorageIfAvailable { buffer in
                var parser = JSONParser(buffer, options: options)
                return Result { () throws(JSONParseError) in try parser.parseDocument() }
            }
            ?? Array(bytes).withUnsafeBufferPointer { buffer in
                var parser = JSONParser(buffer, options: options)
                return Result { () throws(JSONParseError) in try parser.parseDocument() }
            }
        return try result.get()
    }

    public static func parse(_ text: String, options: JSONParseOptions = .strict) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8), options: options)
    }

    /// Strict `parse` of contiguous bytes, also telling whether the text can be passed on in place of the value:
    /// false when it starts with a byte order mark, or when an object repeats a key (the value keeps the last
    /// one; a server reading the text might keep the first).
    public static func parseTellingExactness(_ bytes: [UInt8]) throws(JSONParseError) -> (value: JSON, isExact: Bool) {
        let result = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer, options: .strict)
            return Result { () throws(JSONParseError) in
                let value = try parser.parseDocument()
                return (value, !parser.sawByteOrderMark && !parser.sawRepeatedKey)
            }
        }
        return try result.get()
    }
}

private enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let star = UInt8(ascii: "*")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let newline = UInt8(ascii: "\n")
}

struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let options: JSONParseOptions
    private var index = 0
    private var depth = 0
    private(set) var sawByteOrderMark = false
    private(set) var sawRepeatedKey = false

    init(_ bytes: UnsafeBufferPointer<UInt8>, options: JSONParseOptions) {
        self.bytes = bytes
        self.options = options
    }

    mutating func parseDocument() throws(JSONParseError) -> JSON {
        // A UTF-8 byte order mark is tolerated, as Python's json module does after decoding.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            index = 3
            sawByteOrderMark = true
        }
        try skipSpace()
        guard index < bytes.count else { throw error("Expecting value") }
        let value = try parseValue()
        try skipSpace()
        guard index == bytes.count else { throw error("Extra data after the JSON value") }
        return value
    }

    private func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let offset = offset ?? index
        var line = 1
        var lineStart = 0
        var i = 0
        while i < offset && i < bytes.count {
            if bytes[i] == ASCII.newline {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        return JSONParseError(message: message, offset: offset, line: line, column: offset - lineStart + 1)
    }

    private mutating func skipSpace() throws(JSONParseError) {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09:
                index += 1
            case ASCII.slash where options.allowComments:
                try skipComment()
            default:
                return
            }
        }
    }

    private mutating func skipComment() throws(JSONParseError) {
        let start = index
        guard index + 1 < bytes.count else { throw error("Unexpected '/'") }
        if bytes[index + 1] == ASCII.slash {
            index += 2
            while index < bytes.count && bytes[index] != ASCII.newline { index += 1 }
        } else if bytes[index + 1] == ASCII.star {
            index += 2
            while index + 1 < bytes.count && !(bytes[index] == ASCII.star && bytes[index + 1] == ASCII.slash) {
                index += 1
            }
            guard index + 1 < bytes.count else { throw error("Unterminated /* comment", at: start) }
            index += 2
        } else {
            throw error("Unexpected '/'")
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSON {
        guard index < bytes.count else { throw error("Expecting value") }
        switch bytes[index] {
        case ASCII.openBrace: return try parseObject()
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case ASCII.minus, ASCII.zero...ASCII.nine: return try parseNumber()
        default: throw error("Expecting value")
        }
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: JSON) throws(JSONParseError) -> JSON {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("Expecting value") }
        let start = index
        let matches = word.withUTF8Buffer { literal in
            (0..<count).allSatisfy { bytes[start + $0] == literal[$0] }
        }
        guard matches else { throw error("Expecting value") }
        index += count
        return value
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > options.maxDepth { throw error("Nesting deeper than \(options.maxDepth) levels") }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var object = OrderedDictionary<String, JSON>()
        try skipSpace()
        if index < bytes.count && bytes[index] == ASCII.closeBrace {
            index += 1
            return .object(object)
        }
        while true {
            guard index < bytes.count, bytes[index] == ASCII.quote else {
                throw error("Expecting property name enclosed in double quotes")
            }
            let key = try parseString()
            try skipSpace()
            guard index < bytes.count, bytes[index] == ASCII.colon else { throw error("Expecting ':' delimiter") }
            index += 1
            try skipSpace()
            if object.updateValue(try parseValue(), forKey: key) != nil { sawRepeatedKey = true }
            try skipSpace()
            guard index < bytes.count else { throw error("Expecting ',' delimiter") }
            if bytes[index] == ASCII.comma {
                index += 1
                try skipSpace()
                if options.allowTrailingCommas, index < bytes.count, bytes[index] == ASCII.closeBrace {
                    index += 1
                    return .object(object)
                }
            } else if bytes[index] == ASCII.closeBrace {
                index += 1
                return .object(object)
            } else {
                throw error("Expecting ',' delimiter")
            }
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSON {
        try enter()
        defer { depth -= 1 }
        index += 1
        var array: [JSON] = []
        try skipSpace()
        if index < bytes.count && bytes[index] == ASCII.closeBracket {
            index += 1
            return .array(array)
        }
        while true {
            array.append(try parseValue())
            try skipSpace()
            guard index < bytes.count else { throw error("Expecting ',' delimiter") }
            if bytes[index] == ASCII.comma {
                index += 1
                try skipSpace()
                if options.allowTrailingCommas, index < bytes.count, bytes[index] == ASCII.closeBracket {
                    index += 1
                    return .array(array)
                }
            } else if bytes[index] == ASCII.closeBracket {
                index += 1
                return .array(array)
            } else {
                throw error("Expecting ',' delimiter")
            }
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = index
        if bytes[index] == ASCII.minus { index += 1 }
        guard index < bytes.count, (ASCII.zero...ASCII.nine).contains(bytes[index]) else {
            throw error("Expecting value", at: start)
        }
        if bytes[index] == ASCII.zero {
            index += 1
        } else {
            while index < bytes.count, (ASCII.zero...ASCII.nine).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == ASCII.dot {
            index += 1
            guard index < bytes.count, (ASCII.zero...ASCII.nine).contains(bytes[index]) else {
                throw error("Expecting digits after the decimal point")
            }
            while index < bytes.count, (ASCII.zero...ASCII.nine).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == ASCII.plus || bytes[index] == ASCII.minus { index += 1 }
            guard index < bytes.count, (ASCII.zero...ASCII.nine).contains(bytes[index]) else {
                throw error("Expecting digits in the exponent")
            }
            while index < bytes.count, (ASCII.zero...ASCII.nine).contains(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return .number(JSONNumber(uncheckedText: text))
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        let start = index
        index += 1
        let contentStart = index
        // Fast path: no escapes, so the bytes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == ASCII.quote {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[contentStart..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == ASCII.backslash { break }
            if byte < 0x20 { throw error("Invalid control character in string") }
            index += 1
        }
        var scalars = Array(UnsafeBufferPointer(rebasing: bytes[contentStart..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case ASCII.quote:
                index += 1
                return String(decoding: scalars, as: UTF8.self)
            case ASCII.backslash:
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case ASCII.quote: scalars.append(ASCII.quote)
                case ASCII.backslash: scalars.append(ASCII.backslash)
                case ASCII.slash: scalars.append(ASCII.slash)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code), index + 1 < bytes.count,
                        bytes[index] == ASCII.backslash, bytes[index + 1] == UInt8(ascii: "u")
                    {
                        let save = index
                        index += 2
                        let low = try parseHex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                        }
                    }
                    // A lone surrogate cannot be UTF-8; it becomes U+FFFD as in most decoders.
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    scalars.append(contentsOf: String(Character(scalar)).utf8)
                default:
                    throw error("Invalid \\escape", at: index - 2)
                }
            default:
                if byte < 0x20 { throw error("Invalid control character in string") }
                scalars.append(byte)
                index += 1
            }
        }
        throw error("Unterminated string starting", at: start)
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("Invalid \\uXXXX escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("Invalid \\uXXXX escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
