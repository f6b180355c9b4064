import OrderedCollections

/// A JSON value that keeps object keys in the order they were written.
///
/// Foundation's JSON APIs reorder keys on Linux, which would make the generated OpenAPI document differ
/// from run to run and scramble tool schemas, so every layer of the proxy uses this one type instead.
public enum JSON: Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    case object(OrderedDictionary<String, JSON>)
}

/// The members of a JSON object, in order.
public typealias OrderedJSONObject = OrderedDictionary<String, JSON>

/// A JSON number kept as the text it was written with, so `0.0`, `1e3` and integers beyond 64 bits
/// survive a round trip unchanged.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// `text` must already be a valid JSON number; use `init(_:)` for Swift numbers.
    public init(uncheckedText text: String) { self.text = text }
    public init(_ value: Int) { self.text = String(value) }
    public init(_ value: Double) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            self.text = String(Int64(value)) + ".0"
        } else if value.isFinite {
            self.text = String(value)
        } else {
            // JSON has no NaN or infinity; null is what JavaScript's JSON.stringify writes.
            self.text = "null"
        }
    }

    public var description: String { text }
    public var doubleValue: Double { Double(text) ?? .nan }
    /// The value as an integer when it is one exactly (`3`, `3.0`, `3e0`), else nil.
    public var intValue: Int? {
        if let int = Int(text) { return int }
        let double = doubleValue
        guard double.isFinite, double == double.rounded(), abs(double) < 9.0e15 else { return nil }
        return Int(double)
    }
    /// Whether the text is written as an integer (no fraction or exponent).
    public var isIntegerLiteral: Bool { !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) }

    /// Numeric equality (`1 == 1.0 == 1e0`); integers written as such compare exactly, so two large
    /// integers that round to the same double are still different.
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if lhs.text == rhs.text { return true }
        if lhs.isIntegerLiteral && rhs.isIntegerLiteral {
            if let left = Int(lhs.text), let right = Int(rhs.text) { return left == right }
            return lhs.normalizedIntegerText == rhs.normalizedIntegerText
        }
        return lhs.doubleValue == rhs.doubleValue
    }

    /// An integer literal without a minus sign on zero (JSON allows no leading zeros or plus sign).
    private var normalizedIntegerText: String { text == "-0" ? "0" : text }
    public func hash(into hasher: inout Hasher) { hasher.combine(doubleValue) }
}

extension JSON: Hashable {}

extension JSON {
    public static func int(_ value: Int) -> JSON { .number(JSONNumber(value)) }
    public static func double(_ value: Double) -> JSON { .number(JSONNumber(value)) }

    public var objectValue: OrderedDictionary<String, JSON>? {
        if case .object(let object) = self { return object }
        return nil
    }
    public var arrayValue: [JSON]? {
        if case .array(let array) = self { return array }
        return nil
    }
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }
    public var numberValue: JSONNumber? {
        if case .number(let number) = self { return number }
        return nil
    }
    public var intValue: Int? { numberValue?.intValue }
    public var doubleValue: Double? { numberValue?.doubleValue }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member `key` of an object, or nil for a missing key or a non-object.
    public subscript(key: String) -> JSON? {
        get { objectValue?[key] }
        set {
            guard case .object(var object) = self else { return }
            object[key] = newValue
            self = .object(object)
        }
    }

    /// The element at `index` of an array, or nil for a missing index or a non-array.
    public subscript(index: Int) -> JSON? {
        guard case .array(let array) = self, array.indices.contains(index) else { return nil }
        return array[index]
    }

    /// The JSON type name as JSON Schema spells it (`integer` for numbers written as integers).
    public var schemaTypeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let number): number.intValue != nil && number.isIntegerLiteral ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(OrderedDictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
