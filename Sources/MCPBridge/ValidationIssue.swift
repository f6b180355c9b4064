import JSONValue

/// One problem with the arguments, shaped like a pydantic v2 error item so FastAPI-era clients read it.
public struct ValidationIssue: Sendable, Hashable {
    /// pydantic's error type: `missing`, `string_type`, `int_parsing`, `enum`, `greater_than_equal` …
    public let type: String
    /// Where the problem is, starting with `"body"`: `["body", "items", 0, "sku"]`.
    public let loc: [JSON]
    public let msg: String
    /// The offending value (for `missing`: the object that lacks the field).
    public let input: JSON
    public let ctx: JSON?

    public init(type: String, loc: [JSON], msg: String, input: JSON, ctx: JSON? = nil) {
        self.type = type
        self.loc = loc
        self.msg = msg
        self.input = input
        self.ctx = ctx
    }

    /// `{"type", "loc", "msg", "input"[, "ctx"]}` in that order.
    public var json: JSON {
        var item: JSON = ["type": .string(type), "loc": .array(loc), "msg": .string(msg), "input": input]
        if let ctx { item["ctx"] = ctx }
        return item
    }
}

/// The arguments were refused before anything was sent upstream (HTTP 422).
public struct ValidationFailure: Sendable, Hashable {
    public let issues: [ValidationIssue]

    public init(issues: [ValidationIssue]) { self.issues = issues }

    /// `{"detail": [issue, …]}`, FastAPI's 422 body.
    public var responseBody: JSON { ["detail": .array(issues.map(\.json))] }

    /// The HTTP answer: 422 with `responseBody`.
    public var answer: HTTPAnswer { HTTPAnswer(status: 422, body: responseBody) }
}

/// The wording of every issue, kept in one place so messages match pydantic's exactly.
enum Issues {
    static func missing(_ loc: [JSON], container: JSON) -> ValidationIssue {
        ValidationIssue(type: "missing", loc: loc, msg: "Field required", input: container)
    }

    static func notAnObjectBody(_ input: JSON) -> ValidationIssue {
        ValidationIssue(
            type: "model_attributes_type",
            loc: ["body"],
            msg: "Input should be a valid dictionary or object to extract fields from",
            input: input
        )
    }

    static func invalidJSON(offset: Int, message: String) -> ValidationIssue {
        ValidationIssue(
            type: "json_invalid",
            loc: ["body", .int(offset)],
            msg: "JSON decode error",
            input: [:],
            ctx: ["error": .string(message)]
        )
    }

    /// Issue types that only say "this is not the right kind of value".
    static let typeMismatchTypes: Set<String> = [
        "string_type", "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing", "bool_type",
        "bool_parsing", "list_type", "dict_type", "none_required", "union_type", "not_allowed",
    ]

    /// What a type-mismatch issue expected, as a phrase to join into a union message.
    static func expectation(of issue: ValidationIssue) -> String {
        switch issue.type {
        case "string_type": "a valid string"
        case "int_type", "int_parsing", "int_from_float": "a valid integer"
        case "float_type", "float_parsing": "a valid number"
        case "bool_type", "bool_parsing": "a valid boolean"
        case "list_type": "a valid list"
        case "dict_type": "a valid dictionary"
        case "none_required": "None"
        default:
            issue.msg.hasPrefix("Input should be ") ? String(issue.msg.dropFirst("Input should be ".count)) : issue.msg
        }
    }

    static func union(_ loc: [JSON], input: JSON, expectations: [String]) -> ValidationIssue {
        var unique: [String] = []
        for expectation in expectations where !unique.contains(expectation) { unique.append(expectation) }
        return ValidationIssue(
            type: "union_type",
            loc: loc,
            msg: "Input should be " + PythonText.joinedWithOr(unique),
            input: input
        )
    }

    static func notAllowed(_ loc: [JSON], input: JSON) -> ValidationIssue {
        ValidationIssue(type: "not_allowed", loc: loc, msg: "No value is allowed here", input: input)
    }

    static func matchesExcluded(_ loc: [JSON], input: JSON) -> ValidationIssue {
        ValidationIssue(type: "not", loc: loc, msg: "Input should not match the excluded schema", input: input)
    }

    static func typeMismatch(_ type: String, _ loc: [JSON], input: JSON) -> ValidationIssue {
        let (kind, msg): (String, String)
        switch type {
        case "string": (kind, msg) = ("string_type", "Input should be a valid string")
        case "integer":
            if input.stringValue != nil {
                (kind, msg) = ("int_parsing", "Input should be a valid integer, unable to parse string as an integer")
            } else if input.numberValue != nil {
                (kind, msg) = ("int_from_float", "Input should be a valid integer, got a number with a fractional part")
            } else {
                (kind, msg) = ("int_type", "Input should be a valid integer")
            }
        case "number":
            if input.stringValue != nil {
                (kind, msg) = ("float_parsing", "Input should be a valid number, unable to parse string as a number")
            } else {
                (kind, msg) = ("float_type", "Input should be a valid number")
            }
        case "boolean":
            if input.stringValue != nil || input.numberValue != nil {
                (kind, msg) = ("bool_parsing", "Input should be a valid boolean, unable to interpret input")
            } else {
                (kind, msg) = ("bool_type", "Input should be a valid boolean")
            }
        case "array": (kind, msg) = ("list_type", "Input should be a valid list")
        case "object": (kind, msg) = ("dict_type", "Input should be a valid dictionary")
        default: (kind, msg) = ("none_required", "Input should be None")
        }
        return ValidationIssue(type: kind, loc: loc, msg: msg, input: input)
    }

    static func notInEnum(_ loc: [JSON], input: JSON, allowed: [JSON]) -> ValidationIssue {
        let expected = PythonText.joinedWithOr(allowed.map(PythonText.repr))
        return ValidationIssue(
            type: "enum",
            loc: loc,
            msg: "Input should be \(expected)",
            input: input,
            ctx: ["expected": .string(expected)]
        )
    }

    static func notConst(_ loc: [JSON], input: JSON, expected value: JSON) -> ValidationIssue {
        let expected = PythonText.repr(value)
        return ValidationIssue(
            type: "literal_error",
            loc: loc,
            msg: "Input should be \(expected)",
            input: input,
            ctx: ["expected": .string(expected)]
        )
    }

    enum Bound {
        case greaterThanOrEqual, greaterThan, lessThanOrEqual, lessThan

        var parts: (type: String, words: String, ctxKey: String) {
            switch self {
            case .greaterThanOrEqual: ("greater_than_equal", "greater than or equal to", "ge")
            case .greaterThan: ("greater_than", "greater than", "gt")
            case .lessThanOrEqual: ("less_than_equal", "less than or equal to", "le")
            case .lessThan: ("less_than", "less than", "lt")
            }
        }
    }

    static func outOfBounds(_ bound: Bound, limit: JSON, _ loc: [JSON], input: JSON) -> ValidationIssue {
        let parts = bound.parts
        return ValidationIssue(
            type: parts.type,
            loc: loc,
            msg: "Input should be \(parts.words) \(PythonText.repr(limit))",
            input: input,
            ctx: [parts.ctxKey: limit]
        )
    }

    static func notMultiple(of divisor: JSON, _ loc: [JSON], input: JSON) -> ValidationIssue {
        ValidationIssue(
            type: "multiple_of",
            loc: loc,
            msg: "Input should be a multiple of \(PythonText.repr(divisor))",
            input: input,
            ctx: ["multiple_of": divisor]
        )
    }

    static func stringLength(tooShort: Bool, limit: Int, _ loc: [JSON], input: JSON) -> ValidationIssue {
        let unit = limit == 1 ? "character" : "characters"
        return ValidationIssue(
            type: tooShort ? "string_too_short" : "string_too_long",
            loc: loc,
            msg: "String should have \(tooShort ? "at least" : "at most") \(limit) \(unit)",
            input: input,
            ctx: [tooShort ? "min_length" : "max_length": .int(limit)]
        )
    }

    static func patternMismatch(_ pattern: String, _ loc: [JSON], input: JSON) -> ValidationIssue {
        ValidationIssue(
            type: "string_pattern_mismatch",
            loc: loc,
            msg: "String should match pattern '\(pattern)'",
            input: input,
            ctx: ["pattern": .string(pattern)]
        )
    }

    /// pydantic's `too_short` / `too_long` for lists (`fieldType` "List") and objects ("Dictionary").
    static func count(tooShort: Bool, fieldType: String, limit: Int, actual: Int, _ loc: [JSON], input: JSON)
        -> ValidationIssue
    {
        let unit = limit == 1 ? "item" : "items"
        return ValidationIssue(
            type: tooShort ? "too_short" : "too_long",
            loc: loc,
            msg:
                "\(fieldType) should have \(tooShort ? "at least" : "at most") \(limit) \(unit) after validation, not \(actual)",
            input: input,
            ctx: [
                "field_type": .string(fieldType), tooShort ? "min_length" : "max_length": .int(limit),
                "actual_length": .int(actual),
            ]
        )
    }

    static func duplicateItems(first: Int, second: Int, _ loc: [JSON], input: JSON) -> ValidationIssue {
        ValidationIssue(
            type: "unique_items",
            loc: loc,
            msg: "List should have unique items, but item \(second) repeats item \(first)",
            input: input
        )
    }

    static func contains(minimum: Int, maximum: Int?, found: Int, _ loc: [JSON], input: JSON) -> ValidationIssue {
        let wanted =
            found < minimum
            ? "at least \(minimum) \(minimum == 1 ? "item" : "items")"
            : "at most \(maximum ?? found) \(maximum == 1 ? "item" : "items")"
        return ValidationIssue(
            type: "contains",
            loc: loc,
            msg: "List should contain \(wanted) matching the 'contains' schema, not \(found)",
            input: input
        )
    }

    static func oneOfAmbiguous(_ loc: [JSON], input: JSON, matches: Int) -> ValidationIssue {
        ValidationIssue(
            type: "one_of_ambiguous",
            loc: loc,
            msg: "Input should match exactly one of the allowed schemas, but it matches \(matches)",
            input: input
        )
    }
}

/// Python's spelling of values, as pydantic quotes them in messages (`'low'`, `True`, `None`).
enum PythonText {
    static func repr(_ value: JSON) -> String {
        switch value {
        case .null: "None"
        case .bool(let flag): flag ? "True" : "False"
        case .number(let number): number.text
        case .string(let text): quoted(text)
        case .array(let items): "[" + items.map(repr).joined(separator: ", ") + "]"
        case .object(let object):
            "{" + object.map { quoted($0.key) + ": " + repr($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// `'a'`, `'a', 'b' or 'c'`.
    static func joinedWithOr(_ items: [String]) -> String {
        guard items.count > 1, let last = items.last else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " or " + last
    }

    private static func quoted(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var result = String(quote)
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case quote: result += "\\" + String(quote)
            default: result.append(character)
            }
        }
        result.append(quote)
        return result
    }
}
