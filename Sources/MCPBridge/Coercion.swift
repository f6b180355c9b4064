import JSONValue

/// JSON Schema type matching, and the lax-mode conversions pydantic applies for sloppy callers.
enum Coercion {
    /// The value when it already is of `type` (a whole number such as `5.0` is an integer, written `5`).
    static func exactMatch(_ value: JSON, _ type: String) -> JSON? {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("number", .number), ("array", .array),
            ("object", .object):
            return value
        case ("integer", .number(let number)):
            return integer(number)
        default:
            return nil
        }
    }

    /// The value converted to `type` the way pydantic's lax mode does, or nil. Numbers are never turned
    /// into strings: a number where text is expected is more likely a mistake than a spelling.
    static func laxMatch(_ value: JSON, _ type: String) -> JSON? {
        switch (type, value) {
        case ("integer", .string(let text)): integer(fromText: text)
        case ("number", .string(let text)): number(fromText: text)
        case ("boolean", .string(let text)): boolean(fromText: text)
        case ("boolean", .number(let number)): boolean(fromNumber: number)
        default: nil
        }
    }

    /// `5` and `5.0` are integers; `5.0` is rewritten `5` so the server sees an integer literal.
    private static func integer(_ number: JSONNumber) -> JSON? {
        if number.isIntegerLiteral { return .number(number) }
        let value = number.doubleValue
        guard value.isFinite, value == value.rounded() else { return nil }
        if let int = number.intValue { return .int(int) }
        return .number(number)
    }

    /// `"5"`, `" 5 "`, `"-5"`, `"5.0"` (zeros after the point only); not `"5.5"` or `"1e3"`, like pydantic.
    private static func integer(fromText text: String) -> JSON? {
        let trimmed = text.trimmingWhitespace()
        var digits = Substring(trimmed)
        if let point = digits.firstIndex(of: ".") {
            guard digits[digits.index(after: point)...].allSatisfy({ $0 == "0" }) else { return nil }
            digits = digits[..<point]
        }
        guard let int = Int(digits) else { return nil }
        return .int(int)
    }

    /// Decimal text such as `"3.5"`, `"-2"`, `".5"`, `"1e3"`; not `"nan"`, `"inf"` or hexadecimal,
    /// which JSON cannot carry.
    private static func number(fromText text: String) -> JSON? {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.allSatisfy({ "0123456789+-.eE".contains($0) }),
            let value = Double(trimmed), value.isFinite
        else { return nil }
        if case .number(let number)? = try? JSON.parse(trimmed) { return .number(number) }
        return .double(value)
    }

    private static let trueWords: Set<String> = ["true", "1", "yes", "on", "t", "y"]
    private static let falseWords: Set<String> = ["false", "0", "no", "off", "f", "n"]

    private static func boolean(fromText text: String) -> JSON? {
        let word = text.trimmingWhitespace().lowercased()
        if trueWords.contains(word) { return true }
        if falseWords.contains(word) { return false }
        return nil
    }

    private static func boolean(fromNumber number: JSONNumber) -> JSON? {
        switch number.doubleValue {
        case 0: false
        case 1: true
        default: nil
        }
    }
}

/// Equality as JSON Schema defines it for `enum`, `const` and `uniqueItems`: numbers by value
/// (`1 == 1.0`), objects regardless of key order.
enum JSONEquality {
    static func equal(_ lhs: JSON, _ rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let other = b[key], equal(value, other) else { return false }
            }
            return true
        default: return false
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
