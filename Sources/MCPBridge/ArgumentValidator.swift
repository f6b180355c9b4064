import JSONValue

/// Validates and shapes tool arguments before anything is sent upstream.
///
/// # Validation rules
///
/// The tool's own `inputSchema` (JSON Schema, draft-07 or 2020-12) is the contract; failures answer
/// HTTP 422 with FastAPI's body `{"detail": [{"type", "loc", "msg", "input"[, "ctx"]}, …]}`, pydantic v2
/// wording, `loc` starting with `"body"`. Every issue is reported, not only the first.
///
/// **Body**
/// - Tools whose schema declares no properties and allows no extra keys take no body: whatever is sent
///   is ignored and the tool gets `{}` (as with mcpo).
/// - Empty or all-whitespace body (or `null`): `{}` when no property is required, else
///   `missing` at `["body"]`. (mcpo refused an empty body even for all-optional tools.)
/// - The body is read as JSON whatever the Content-Type (`curl -d` sends form-urlencoded).
///   Invalid JSON: `json_invalid` at `["body", <byte offset>]`, `ctx.error` = the parser's message.
/// - A body that is not a JSON object: `model_attributes_type` at `["body"]`.
///
/// **Checked keywords**: `type` (also lists), `enum` (`enum`), `const` (`literal_error`),
/// `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum` (both the number and the draft-04
/// boolean forms; `greater_than_equal`, `greater_than`, `less_than_equal`, `less_than`), `multipleOf`,
/// `minLength`/`maxLength` (Unicode scalars; `string_too_short`/`string_too_long`), `pattern`
/// (unanchored search; `string_pattern_mismatch`; a pattern Swift's regex engine cannot compile is not
/// checked), `items`/`prefixItems`/`additionalItems`, `minItems`/`maxItems` (`too_short`/`too_long`),
/// `uniqueItems` (`unique_items`), `contains`/`minContains`/`maxContains`, `properties`, `required`
/// (`missing`, `input` = the object lacking the field), `patternProperties`, `additionalProperties`,
/// `unevaluatedProperties`, `propertyNames`, `minProperties`/`maxProperties`, `dependentRequired`,
/// `dependentSchemas`, `dependencies`, `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, and local
/// `$ref`s (`#`, `#/…` pointers, `#anchor`), with a guard against references that loop in place.
/// Not checked: `format`, content keywords, and external `$ref`s (the server still validates those).
/// Locations are nested: `["body", "items", 0, "sku"]`. Issue types pydantic has no word for are ours:
/// `union_type`, `one_of_ambiguous`, `unique_items`, `contains`, `not` (the value matches a `not`
/// schema) and `not_allowed` (the schema is `false`, e.g. a tuple item beyond `additionalItems: false`).
///
/// **Unions**: branches of `anyOf` and `oneOf` are first tried without coercion, and only if none
/// matches, with it; so `"5"` stays a string for `anyOf: [string, integer]`. When several branches match,
/// the one that accounts for the most object keys is used, then the earlier one; `oneOf` refuses a tie
/// (`one_of_ambiguous`). When no branch matches, the issues of the branch that came closest are reported
/// (a `null`-only branch is ignored for non-null input, a branch whose `const`/`enum` discriminator
/// failed counts as far); when every branch rejected the very kind of value, one `union_type` issue
/// lists what would have been accepted ("Input should be a valid string or a valid list").
///
/// **Lenient where LLM callers are sloppy** (pydantic's lax mode):
/// - integer: `"5"`, `" 5 "`, `"5.0"` → `5`; a whole number `5.0` → `5`. `"5.5"` and `"1e3"` →
///   `int_parsing`; `5.5` → `int_from_float`; anything else → `int_type`.
/// - number: `"3.5"` → `3.5` (`float_parsing` for other text, `float_type` otherwise).
/// - boolean: `"true"/"false"`, `"1"/"0"`, `"yes"/"no"`, `"on"/"off"`, `"t"/"f"`, `"y"/"n"` (any case)
///   and the numbers `1`/`0` → `true`/`false` (`bool_parsing` for other text or numbers).
/// - string: nothing is converted; a number is `string_type`. Arrays and objects are never converted.
/// - `null` for an optional property whose schema does not accept null: the key is dropped.
///   `null` for a required property is checked like any value (usually a type error).
/// - Unknown keys are dropped, at every level, unless the object's schema accepts more keys
///   (`additionalProperties: true`, an `additionalProperties` schema — then they are checked against it —
///   or a matching `patternProperties`). A key counts as known when any applied schema (including the
///   matching `allOf`/`anyOf`/`oneOf`/`if` branches and `$ref` targets) declares it in `properties` or
///   `required`. An object schema that declares none of `properties` (non-empty), `patternProperties`,
///   `additionalProperties` or `unevaluatedProperties` is free-form and keeps every key.
///   `additionalProperties: false` therefore drops extra keys instead of refusing the call.
///
/// **Never done**: defaults are not injected (the server applies its own), `format` is not enforced.
///
/// The result of a successful validation is the cleaned arguments: coerced values, dropped keys, and
/// the keys in the order the caller sent them.
public struct ArgumentValidator: Sendable {
    public let inputSchema: JSON
    private let resolver: LocalReferenceResolver
    /// The schema declares at least one property (at its root, or in a root-level `allOf`/`anyOf`/`oneOf`
    /// branch or `$ref`), so the operation publishes a request body.
    public let declaresProperties: Bool
    /// At least one property is required (by the root or a root-level `allOf` branch or `$ref`), so an
    /// empty body is refused.
    public let requiresArguments: Bool
    /// The tool takes arguments at all: declared properties, or room for extra keys.
    public let acceptsArguments: Bool
    private let flatSchema: FlatObjectSchema?

    public init(inputSchema: JSON) {
        self.inputSchema = inputSchema
        let resolver = LocalReferenceResolver(root: inputSchema)
        self.resolver = resolver
        let shape = ArgumentShape(of: inputSchema, resolver: resolver)
        declaresProperties = shape.declaresProperties
        requiresArguments = shape.declaresProperties && shape.requiresProperties
        acceptsArguments = shape.declaresProperties || shape.allowsExtraKeys
        flatSchema = FlatObjectSchema(inputSchema)
    }

    /// Checked arguments, and their text when the body is exactly them.
    public struct CheckedArguments: Sendable {
        public let value: JSON
        /// The body itself, when it needs no change: it may then be sent on as it is, not encoded again.
        public let text: [UInt8]?

        public init(value: JSON, text: [UInt8]?) {
            self.value = value
            self.text = text
        }
    }

    /// From the raw HTTP body, whatever its Content-Type.
    public func arguments(fromBody body: [UInt8]) -> Result<JSON, BridgeError> {
        checkedArguments(fromBody: body).map(\.value)
    }

    /// `arguments(fromBody:)`, with the body's text when it can stand for the arguments: a JSON object that
    /// passes the check unchanged, without a repeated key or a byte order mark.
    public func checkedArguments(fromBody body: [UInt8]) -> Result<CheckedArguments, BridgeError> {
        guard acceptsArguments else { return .success(CheckedArguments(value: [:], text: nil)) }
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let parsed: JSON
        var isExact = false
        if isBlank {
            parsed = .null
        } else {
            do {
                (parsed, isExact) = try JSON.parseTellingExactness(body)
            } catch {
                return .failure(
                    .invalidArguments(
                        ValidationFailure(issues: [Issues.invalidJSON(offset: error.offset, message: error.message)])))
            }
        }
        if parsed.isNull {
            guard !requiresArguments else {
                return .failure(
                    .invalidArguments(ValidationFailure(issues: [Issues.missing(["body"], container: .null)])))
            }
            return .success(CheckedArguments(value: [:], text: nil))
        }
        return checked(parsed).map { CheckedArguments(value: $0.value, text: $0.unchanged && isExact ? body : nil) }
    }

    /// Checks an already decoded arguments object and returns it cleaned (see the rules above).
    public func validate(_ arguments: JSON) -> Result<JSON, BridgeError> {
        guard acceptsArguments else { return .success([:]) }
        return checked(arguments).map(\.value)
    }

    /// The arguments cleaned, and whether they are known to be unchanged (they fit a flat schema exactly).
    private func checked(_ arguments: JSON) -> Result<(value: JSON, unchanged: Bool), BridgeError> {
        guard case .object(let members) = arguments else {
            return .failure(.invalidArguments(ValidationFailure(issues: [Issues.notAnObjectBody(arguments)])))
        }
        if let flatSchema, flatSchema.acceptsUnchanged(members) { return .success((arguments, true)) }
        return validateByWalking(arguments).map { ($0, false) }
    }

    /// The full walk of the schema, without the shortcut for flat schemas.
    func validateByWalking(_ arguments: JSON) -> Result<JSON, BridgeError> {
        var evaluator = SchemaEvaluator(resolver: resolver)
        let (cleaned, issues) = evaluator.check(arguments, against: inputSchema, at: ["body"], lax: true)
        return issues.isEmpty ? .success(cleaned) : .failure(.invalidArguments(ValidationFailure(issues: issues)))
    }
}

/// The most common input schema, an object of typed properties and nothing else, read once so that a call whose
/// arguments already fit it exactly (every key declared, every value of its property's type, every required key
/// present) skips the schema walk. The answer is the evaluator's: such arguments pass it unchanged. Anything
/// else (a coercion, a null, an unknown key, a missing one) goes to the evaluator, which knows why.
struct FlatObjectSchema {
    enum Kind {
        case string, integer, number, boolean, array, object
    }

    let properties: [String: Kind]
    let required: [String]

    /// Keywords that describe a property without constraining it.
    private static let annotations: Set<String> = [
        "title", "description", "default", "examples", "format", "$comment", "deprecated", "readOnly", "writeOnly",
    ]
    /// Root keywords that leave the object as `properties` and `required` say.
    private static let rootKeywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "title", "description", "$schema", "$id",
        "$comment", "$defs", "definitions", "examples",
    ]

    init?(_ schema: JSON) {
        guard case .object(let root) = schema, root.keys.allSatisfy(Self.rootKeywords.contains),
            root["type"] == nil || root["type"] == "object",
            case .object(let declared)? = root["properties"], !declared.isEmpty
        else { return nil }
        switch root["additionalProperties"] {
        case nil, .bool?: break
        default: return nil
        }
        var properties: [String: Kind] = [:]
        for (name, property) in declared {
            guard case .object(let keywords) = property, case .string(let type)? = keywords["type"],
                keywords.keys.allSatisfy({ $0 == "type" || Self.annotations.contains($0) }),
                let kind = Self.kind(type)
            else { return nil }
            properties[name] = kind
        }
        var required: [String] = []
        switch root["required"] {
        case nil: break
        case .array(let names)?:
            for name in names {
                guard case .string(let text) = name else { return nil }
                required.append(text)
            }
        default: return nil
        }
        self.properties = properties
        self.required = required
    }

    private static func kind(_ type: String) -> Kind? {
        switch type {
        case "string": .string
        case "integer": .integer
        case "number": .number
        case "boolean": .boolean
        case "array": .array
        case "object": .object
        default: nil
        }
    }

    func acceptsUnchanged(_ arguments: OrderedJSONObject) -> Bool {
        for (key, value) in arguments {
            guard let kind = properties[key] else { return false }
            switch (kind, value) {
            case (.string, .string), (.number, .number), (.boolean, .bool), (.array, .array), (.object, .object):
                continue
            case (.integer, .number(let number)) where number.isIntegerLiteral:
                continue
            default:
                return false
            }
        }
        return required.allSatisfy { arguments[$0] != nil }
    }
}

/// What the root of an input schema says about the arguments object as a whole, looking through the
/// subschemas that apply to the same object (`allOf`, `anyOf`, `oneOf`, `if`/`then`/`else`, `$ref`).
private struct ArgumentShape {
    var declaresProperties = false
    var requiresProperties = false
    var allowsExtraKeys = false

    init(of schema: JSON, resolver: LocalReferenceResolver) {
        var visited: Set<[String]> = []
        visit(schema, resolver: resolver, mandatory: true, visited: &visited)
    }

    /// `mandatory`: every valid argument object must satisfy this subschema (root, `allOf`, `$ref`), so
    /// its `required` counts.
    private mutating func visit(
        _ schema: JSON, resolver: LocalReferenceResolver, mandatory: Bool, visited: inout Set<[String]>
    ) {
        guard case .object = schema else { return }
        if !(schema["properties"]?.objectValue?.isEmpty ?? true) { declaresProperties = true }
        if mandatory, !(schema["required"]?.arrayValue?.isEmpty ?? true) { requiresProperties = true }
        switch schema["additionalProperties"] {
        case .bool(true)?, .object?: allowsExtraKeys = true
        default: break
        }
        if !(schema["patternProperties"]?.objectValue?.isEmpty ?? true) { allowsExtraKeys = true }
        if let text = schema["$ref"]?.stringValue, let path = resolver.targetPath(of: SchemaReference(text)),
            visited.insert(path).inserted, let target = resolver.schema(at: path)
        {
            visit(target, resolver: resolver, mandatory: mandatory, visited: &visited)
        }
        for branch in schema["allOf"]?.arrayValue ?? [] {
            visit(branch, resolver: resolver, mandatory: mandatory, visited: &visited)
        }
        for keyword in ["anyOf", "oneOf"] {
            for branch in schema[keyword]?.arrayValue ?? [] {
                visit(branch, resolver: resolver, mandatory: false, visited: &visited)
            }
        }
        for keyword in ["then", "else"] {
            if let branch = schema[keyword] { visit(branch, resolver: resolver, mandatory: false, visited: &visited) }
        }
    }
}
