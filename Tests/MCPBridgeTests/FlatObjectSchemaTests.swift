import JSONValue
import Testing

@testable import MCPBridge

/// The shortcut for flat object schemas must answer exactly as the schema walk does.
@Suite struct FlatObjectSchemaTests {
    /// A fixed-seed generator, so a failure is the same on every run.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let types = ["string", "integer", "number", "boolean", "array", "object"]
    static let values: [JSON] = [
        "text", "", "5", "true", .int(5), .int(-3), .double(2.5), .number(JSONNumber(uncheckedText: "5.0")),
        .number(JSONNumber(uncheckedText: "1e3")), true, false, .null, [1, "a"], [:], ["k": .null],
    ]

    @Test("arguments the shortcut accepts come out of the full validation unchanged and without issues")
    func shortcutAgreesWithTheEvaluator() throws {
        var random = SplitMix(state: 42)
        var accepted = 0
        for _ in 0..<3000 {
            let names = ["a", "b", "c", "d"].filter { _ in Bool.random(using: &random) }
            guard !names.isEmpty else { continue }
            var properties: OrderedJSONObject = [:]
            for name in names {
                var property: OrderedJSONObject = ["type": .string(Self.types.randomElement(using: &random)!)]
                if Bool.random(using: &random) { property["description"] = .string("about \(name)") }
                properties[name] = .object(property)
            }
            let required = names.filter { _ in Bool.random(using: &random) }.map { JSON.string($0) }
            var schema: OrderedJSONObject = ["type": "object", "properties": .object(properties)]
            if !required.isEmpty { schema["required"] = .array(required) }
            if Bool.random(using: &random) { schema["additionalProperties"] = .bool(Bool.random(using: &random)) }
            let flat = try #require(FlatObjectSchema(.object(schema)), "\(JSON.object(schema))")

            var arguments: OrderedJSONObject = [:]
            for name in names + ["extra"] where Bool.random(using: &random) {
                arguments[name] = Self.values.randomElement(using: &random)!
            }
            guard flat.acceptsUnchanged(arguments) else { continue }
            accepted += 1
            let validated = ArgumentValidator(inputSchema: .object(schema)).validateByWalking(.object(arguments))
            #expect(validated == .success(.object(arguments)), "\(JSON.object(schema)) with \(JSON.object(arguments))")
        }
        #expect(accepted > 100, "the shortcut took \(accepted) of the generated calls")
    }

    @Test("the body's own text stands for the arguments only when it is exactly them")
    func bodyTextPassedOnOnlyWhenExact() throws {
        let validator = ArgumentValidator(inputSchema: [
            "type": "object", "properties": ["text": ["type": "string"], "n": ["type": "integer"]],
            "required": ["text"],
        ])
        func text(_ body: String) throws -> String? {
            let checked = try validator.checkedArguments(fromBody: Array(body.utf8)).get()
            return checked.text.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(try text(#" {"text": "caf\u00e9", "n": 7} "#) == #" {"text": "caf\u00e9", "n": 7} "#)
        #expect(try text(#"{"text": "a", "n": "7"}"#) == nil, "coerced: the value is not the text")
        #expect(try text(#"{"text": "a", "extra": 1}"#) == nil, "an unknown key is dropped")
        #expect(try text(#"{"text": "a", "text": "b"}"#) == nil, "a repeated key")
        #expect(try text("\u{FEFF}" + #"{"text": "a"}"#) == nil, "a byte order mark")
        let coerced = try validator.checkedArguments(fromBody: Array(#"{"text": "a", "n": "7"}"#.utf8)).get()
        #expect(coerced.value == ["text": "a", "n": 7])
    }

    @Test("schemas with anything beyond types, annotations and required are left to the evaluator")
    func onlyFlatSchemasQualify() {
        let qualifies: [JSON] = [
            ["type": "object", "properties": ["text": ["type": "string", "title": "Text"]], "required": ["text"]],
            ["properties": ["n": ["type": "integer"]], "additionalProperties": false, "$defs": [:]],
        ]
        let refused: [JSON] = [
            ["type": "object", "properties": [:]],
            ["type": "object", "properties": ["text": ["type": "string", "maxLength": 3]]],
            ["type": "object", "properties": ["text": ["type": ["string", "null"]]]],
            ["type": "object", "properties": ["text": ["$ref": "#/$defs/T"]]],
            ["type": "object", "properties": ["text": ["type": "string"]], "minProperties": 1],
            [
                "type": "object", "properties": ["text": ["type": "string"]],
                "additionalProperties": ["type": "integer"],
            ],
            ["type": "object", "properties": ["text": ["type": "string"]], "anyOf": [["required": ["text"]]]],
            ["type": "object", "properties": ["text": ["type": "any"]]],
        ]
        for schema in qualifies { #expect(FlatObjectSchema(schema) != nil, "\(schema)") }
        for schema in refused { #expect(FlatObjectSchema(schema) == nil, "\(schema)") }
    }
}
