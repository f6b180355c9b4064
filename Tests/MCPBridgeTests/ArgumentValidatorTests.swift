import JSONValue
import Testing

@testable import MCPBridge

private func validator(_ toolText: String) throws -> ArgumentValidator {
    ArgumentValidator(inputSchema: try tool(toolText).inputSchema)
}

private func validator(schema: JSON) -> ArgumentValidator { ArgumentValidator(inputSchema: schema) }

/// The issues for `arguments`, or a recorded failure when they were accepted.
private func issues(
    _ validator: ArgumentValidator, _ arguments: JSON, sourceLocation: SourceLocation = #_sourceLocation
)
    -> [ValidationIssue]
{
    switch validator.validate(arguments) {
    case .success(let cleaned):
        Issue.record("accepted as \(cleaned)", sourceLocation: sourceLocation)
        return []
    case .failure(let failure):
        return failure.issues
    }
}

/// The cleaned arguments, or a recorded failure when they were refused.
private func cleaned(
    _ validator: ArgumentValidator, _ arguments: JSON, sourceLocation: SourceLocation = #_sourceLocation
) -> JSON? {
    switch validator.validate(arguments) {
    case .success(let cleaned):
        return cleaned
    case .failure(let failure):
        Issue.record("refused: \(failure.responseBody)", sourceLocation: sourceLocation)
        return nil
    }
}

private func body(_ validator: ArgumentValidator, _ text: String) -> Result<JSON, BridgeError> {
    validator.arguments(fromBody: Array(text.utf8))
}

private let minimalOrder: JSON = [
    "customer": "Ada", "priority": "high", "items": [["sku": "A1"]], "address": ["street": "1 Main", "city": "Oslo"],
]

@Suite struct BodyHandling {
    @Test func emptyBodyForRequiredArgumentsIsMissing() throws {
        let echo = try validator(SchemaCorpus.echo)
        let expected = ValidationFailure(issues: [
            ValidationIssue(type: "missing", loc: ["body"], msg: "Field required", input: nil)
        ])
        #expect(body(echo, "") == .failure(.invalidArguments(expected)))
        #expect(body(echo, " \n\t ") == .failure(.invalidArguments(expected)))
        #expect(body(echo, "null") == .failure(.invalidArguments(expected)))
        #expect(
            expected.responseBody.text
                == #"{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}"#)
    }

    @Test func emptyBodyForOptionalArgumentsIsAnEmptyObject() throws {
        #expect(body(try validator(SchemaCorpus.explode), "") == .success([:]))
    }

    @Test func toolsWithoutArgumentsIgnoreTheBody() throws {
        let pixel = try validator(SchemaCorpus.pixel)
        #expect(body(pixel, "") == .success([:]))
        #expect(body(pixel, "{not json") == .success([:]))
        #expect(body(pixel, #"{"x":1}"#) == .success([:]))
        #expect(pixel.validate([1, 2]) == .success([:]))
    }

    @Test func invalidJSONReportsTheOffsetAndTheParserMessage() throws {
        let result = body(try validator(SchemaCorpus.echo), #"{"text": }"#)
        let expected = ValidationIssue(
            type: "json_invalid",
            loc: ["body", 9],
            msg: "JSON decode error",
            input: [:],
            ctx: ["error": "Expecting value"]
        )
        #expect(result == .failure(.invalidArguments(ValidationFailure(issues: [expected]))))
        #expect(
            expected.json.text
                == #"{"type":"json_invalid","loc":["body",9],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting value"}}"#
        )
    }

    @Test func aBodyThatIsNotAnObject() throws {
        let expected = ValidationIssue(
            type: "model_attributes_type",
            loc: ["body"],
            msg: "Input should be a valid dictionary or object to extract fields from",
            input: [1, 2]
        )
        #expect(
            body(try validator(SchemaCorpus.echo), "[1,2]")
                == .failure(.invalidArguments(ValidationFailure(issues: [expected]))))
        #expect(
            body(try validator(SchemaCorpus.echo), #""text""#).failureIssues.map(\.type) == ["model_attributes_type"])
    }

    @Test func formEncodedContentTypeIsIrrelevant() throws {
        // curl -d '{"text":"hi"}' labels the JSON as form data; only the bytes matter.
        #expect(body(try validator(SchemaCorpus.echo), #"{"text":"hi"}"#) == .success(["text": "hi"]))
    }
}

@Suite struct RequiredAndTypes {
    @Test func missingRequiredPropertyCarriesTheContainingObject() throws {
        let result = issues(try validator(SchemaCorpus.echo), ["other": 1])
        #expect(
            result == [
                ValidationIssue(type: "missing", loc: ["body", "text"], msg: "Field required", input: ["other": 1])
            ])
    }

    @Test func everyIssueIsReportedInPropertyOrder() throws {
        let result = issues(try validator(SchemaCorpus.createOrder), ["priority": "urgent", "items": [["qty": 0]]])
        #expect(
            result == [
                ValidationIssue(
                    type: "missing", loc: ["body", "customer"], msg: "Field required",
                    input: ["priority": "urgent", "items": [["qty": 0]]]),
                ValidationIssue(
                    type: "enum",
                    loc: ["body", "priority"],
                    msg: "Input should be 'low', 'normal' or 'high'",
                    input: "urgent",
                    ctx: ["expected": "'low', 'normal' or 'high'"]
                ),
                ValidationIssue(
                    type: "missing", loc: ["body", "items", 0, "sku"], msg: "Field required", input: ["qty": 0]),
                ValidationIssue(
                    type: "greater_than_equal",
                    loc: ["body", "items", 0, "qty"],
                    msg: "Input should be greater than or equal to 1",
                    input: 0,
                    ctx: ["ge": 1]
                ),
                ValidationIssue(
                    type: "missing", loc: ["body", "address"], msg: "Field required",
                    input: ["priority": "urgent", "items": [["qty": 0]]]),
            ]
        )
    }

    @Test func stringTypeIsNotCoercedFromNumbers() throws {
        #expect(
            issues(try validator(SchemaCorpus.echo), ["text": 5])
                == [
                    ValidationIssue(
                        type: "string_type", loc: ["body", "text"], msg: "Input should be a valid string", input: 5)
                ]
        )
        #expect(issues(try validator(SchemaCorpus.echo), ["text": nil]).map(\.type) == ["string_type"])
    }

    static let integerSchema: JSON = ["type": "object", "properties": ["n": ["type": "integer"]]]

    @Test(arguments: [("5", 5), (" 7 ", 7), ("5.0", 5), ("-3", -3), (5.0, 5), (12, 12)] as [(JSON, JSON)])
    func integersAreCoercedLikePydantic(input: JSON, expected: JSON) {
        let result = cleaned(validator(schema: Self.integerSchema), ["n": input])
        #expect(result == ["n": expected])
        #expect(result?["n"]?.numberValue?.isIntegerLiteral == true)
    }

    @Test func integerIssues() {
        let schema = validator(schema: Self.integerSchema)
        #expect(
            issues(schema, ["n": "5.5"]) == [
                ValidationIssue(
                    type: "int_parsing",
                    loc: ["body", "n"],
                    msg: "Input should be a valid integer, unable to parse string as an integer",
                    input: "5.5"
                )
            ]
        )
        #expect(issues(schema, ["n": "1e3"]).map(\.type) == ["int_parsing"])
        #expect(
            issues(schema, ["n": 5.5]) == [
                ValidationIssue(
                    type: "int_from_float",
                    loc: ["body", "n"],
                    msg: "Input should be a valid integer, got a number with a fractional part",
                    input: 5.5
                )
            ]
        )
        #expect(
            issues(schema, ["n": true]) == [
                ValidationIssue(
                    type: "int_type", loc: ["body", "n"], msg: "Input should be a valid integer", input: true)
            ]
        )
        #expect(issues(schema, ["n": [1]]).map(\.type) == ["int_type"])
    }

    @Test func numbers() {
        let schema = validator(schema: ["type": "object", "properties": ["x": ["type": "number"]]])
        #expect(cleaned(schema, ["x": "3.5"]) == ["x": 3.5])
        #expect(cleaned(schema, ["x": 1])?["x"]?.numberValue?.text == "1")
        #expect(
            issues(schema, ["x": "x"]) == [
                ValidationIssue(
                    type: "float_parsing",
                    loc: ["body", "x"],
                    msg: "Input should be a valid number, unable to parse string as a number",
                    input: "x"
                )
            ]
        )
        #expect(issues(schema, ["x": "nan"]).map(\.type) == ["float_parsing"])
        #expect(issues(schema, ["x": "0x10"]).map(\.type) == ["float_parsing"])
        #expect(
            issues(schema, ["x": false]) == [
                ValidationIssue(
                    type: "float_type", loc: ["body", "x"], msg: "Input should be a valid number", input: false)
            ]
        )
    }

    @Test(
        arguments: [
            ("true", true), ("yes", true), ("On", true), ("1", true), ("t", true), (1, true),
            ("false", false), ("no", false), ("OFF", false), ("0", false), ("n", false), (0, false),
        ] as [(JSON, Bool)]
    )
    func booleansAreCoercedFromWords(input: JSON, expected: Bool) {
        let schema = validator(schema: ["type": "object", "properties": ["b": ["type": "boolean"]]])
        #expect(cleaned(schema, ["b": input]) == ["b": .bool(expected)])
    }

    @Test func booleanIssues() {
        let schema = validator(schema: ["type": "object", "properties": ["b": ["type": "boolean"]]])
        let parsing = "Input should be a valid boolean, unable to interpret input"
        #expect(
            issues(schema, ["b": "maybe"]) == [
                ValidationIssue(type: "bool_parsing", loc: ["body", "b"], msg: parsing, input: "maybe")
            ])
        #expect(
            issues(schema, ["b": 2]) == [
                ValidationIssue(type: "bool_parsing", loc: ["body", "b"], msg: parsing, input: 2)
            ])
        #expect(
            issues(schema, ["b": []]) == [
                ValidationIssue(
                    type: "bool_type", loc: ["body", "b"], msg: "Input should be a valid boolean", input: [])
            ])
    }

    @Test func listsDictionariesAndNull() throws {
        let zoo = try validator(SchemaCorpus.schemaZoo)
        #expect(
            issues(zoo, ["s": "ab", "arr_no_items": "x"])
                == [
                    ValidationIssue(
                        type: "list_type", loc: ["body", "arr_no_items"], msg: "Input should be a valid list",
                        input: "x")
                ]
        )
        #expect(
            issues(zoo, ["s": "ab", "free_obj": 1])
                == [
                    ValidationIssue(
                        type: "dict_type", loc: ["body", "free_obj"], msg: "Input should be a valid dictionary",
                        input: 1)
                ]
        )
        #expect(
            issues(zoo, ["s": "ab", "nul": 1])
                == [
                    ValidationIssue(type: "none_required", loc: ["body", "nul"], msg: "Input should be None", input: 1)
                ]
        )
        #expect(
            issues(zoo, ["s": "ab", "arr_of_arr": [[1, "x"]]])
                == [
                    ValidationIssue(
                        type: "float_parsing",
                        loc: ["body", "arr_of_arr", 0, 1],
                        msg: "Input should be a valid number, unable to parse string as a number",
                        input: "x"
                    )
                ]
        )
    }
}

@Suite struct Constraints {
    @Test func constIsALiteral() throws {
        #expect(
            issues(try validator(SchemaCorpus.schemaZoo), ["s": "ab", "const_val": "other"]) == [
                ValidationIssue(
                    type: "literal_error",
                    loc: ["body", "const_val"],
                    msg: "Input should be 'fixed'",
                    input: "other",
                    ctx: ["expected": "'fixed'"]
                )
            ]
        )
    }

    @Test func enumOfMixedValuesIsSpelledLikePython() {
        let schema = validator(schema: ["type": "object", "properties": ["v": ["enum": [1, "it's", true, nil]]]])
        #expect(
            issues(schema, ["v": 2]) == [
                ValidationIssue(
                    type: "enum",
                    loc: ["body", "v"],
                    msg: #"Input should be 1, "it's", True or None"#,
                    input: 2,
                    ctx: ["expected": #"1, "it's", True or None"#]
                )
            ]
        )
        #expect(cleaned(schema, ["v": 1.0]) == ["v": 1.0])
    }

    @Test func numericBounds() throws {
        let zoo = try validator(SchemaCorpus.keywordZoo)
        #expect(
            issues(zoo, ["count": 12]) == [
                ValidationIssue(
                    type: "less_than_equal",
                    loc: ["body", "count"],
                    msg: "Input should be less than or equal to 10",
                    input: 12,
                    ctx: ["le": 10]
                )
            ]
        )
        #expect(
            issues(zoo, ["count": 3]) == [
                ValidationIssue(
                    type: "multiple_of", loc: ["body", "count"], msg: "Input should be a multiple of 2", input: 3,
                    ctx: ["multiple_of": 2])
            ]
        )
        #expect(
            issues(zoo, ["count": 2, "ratio": 0]) == [
                ValidationIssue(
                    type: "greater_than", loc: ["body", "ratio"], msg: "Input should be greater than 0", input: 0,
                    ctx: ["gt": 0])
            ]
        )
        #expect(
            issues(zoo, ["count": 2, "ratio": 1]) == [
                ValidationIssue(
                    type: "less_than", loc: ["body", "ratio"], msg: "Input should be less than 1", input: 1,
                    ctx: ["lt": 1])
            ]
        )
        #expect(cleaned(zoo, ["count": "4", "ratio": "0.5"]) == ["count": 4, "ratio": 0.5])
        let cents = validator(schema: ["type": "object", "properties": ["p": ["type": "number", "multipleOf": 0.01]]])
        #expect(cleaned(cents, ["p": 19.99]) == ["p": 19.99])
    }

    @Test func stringLengthsAndPatterns() throws {
        let zoo = try validator(SchemaCorpus.keywordZoo)
        #expect(
            issues(try validator(SchemaCorpus.schemaZoo), ["s": "a"]) == [
                ValidationIssue(
                    type: "string_too_short",
                    loc: ["body", "s"],
                    msg: "String should have at least 2 characters",
                    input: "a",
                    ctx: ["min_length": 2]
                )
            ]
        )
        #expect(
            issues(zoo, ["count": 2, "code": "ABCD"]) == [
                ValidationIssue(
                    type: "string_too_long",
                    loc: ["body", "code"],
                    msg: "String should have at most 3 characters",
                    input: "ABCD",
                    ctx: ["max_length": 3]
                ),
                ValidationIssue(
                    type: "string_pattern_mismatch",
                    loc: ["body", "code"],
                    msg: "String should match pattern '^[A-Z]{3}$'",
                    input: "ABCD",
                    ctx: ["pattern": "^[A-Z]{3}$"]
                ),
            ]
        )
        // Length counts characters, not bytes; `format` is not enforced.
        #expect(issues(zoo, ["count": 2, "code": "ÅBC"]).map(\.type) == ["string_pattern_mismatch"])
        #expect(cleaned(try validator(SchemaCorpus.schemaZoo), ["s": "not an email"]) == ["s": "not an email"])
        let one = validator(schema: ["type": "object", "properties": ["c": ["type": "string", "maxLength": 1]]])
        #expect(cleaned(one, ["c": "é"]) == ["c": "é"])
        #expect(issues(one, ["c": "ab"]).map(\.msg) == ["String should have at most 1 character"])
    }

    @Test func arraySizesAndUniqueness() throws {
        let zoo = try validator(SchemaCorpus.keywordZoo)
        #expect(
            issues(zoo, ["count": 2, "tags": []]) == [
                ValidationIssue(
                    type: "too_short",
                    loc: ["body", "tags"],
                    msg: "List should have at least 1 item after validation, not 0",
                    input: [],
                    ctx: ["field_type": "List", "min_length": 1, "actual_length": 0]
                )
            ]
        )
        #expect(
            issues(zoo, ["count": 2, "tags": ["a", "b", "c", "d"]]) == [
                ValidationIssue(
                    type: "too_long",
                    loc: ["body", "tags"],
                    msg: "List should have at most 3 items after validation, not 4",
                    input: ["a", "b", "c", "d"],
                    ctx: ["field_type": "List", "max_length": 3, "actual_length": 4]
                )
            ]
        )
        #expect(
            issues(zoo, ["count": 2, "tags": ["a", "b", "a"]]) == [
                ValidationIssue(
                    type: "unique_items",
                    loc: ["body", "tags"],
                    msg: "List should have unique items, but item 2 repeats item 0",
                    input: ["a", "b", "a"]
                )
            ]
        )
        let unique = validator(schema: ["type": "object", "properties": ["v": ["uniqueItems": true]]])
        #expect(issues(unique, ["v": [["a": 1, "b": 2], ["b": 2, "a": 1]]]).map(\.type) == ["unique_items"])
        #expect(issues(unique, ["v": [1, 1.0]]).map(\.type) == ["unique_items"])
    }

    @Test func objectSizes() {
        let schema = validator(schema: [
            "type": "object", "properties": ["m": ["type": "object", "minProperties": 1, "maxProperties": 1]],
        ])
        #expect(
            issues(schema, ["m": [:]]) == [
                ValidationIssue(
                    type: "too_short",
                    loc: ["body", "m"],
                    msg: "Dictionary should have at least 1 item after validation, not 0",
                    input: [:],
                    ctx: ["field_type": "Dictionary", "min_length": 1, "actual_length": 0]
                )
            ]
        )
        #expect(
            issues(schema, ["m": ["a": 1, "b": 2]]).map(\.msg) == [
                "Dictionary should have at most 1 item after validation, not 2"
            ])
    }

    @Test func mapsWithPatternPropertiesAndPropertyNames() throws {
        let zoo = try validator(SchemaCorpus.keywordZoo)
        #expect(
            cleaned(zoo, ["count": 2, "map": ["a": "5", "x-b": "s"]]) == ["count": 2, "map": ["a": 5, "x-b": "s"]])
        #expect(
            issues(zoo, ["count": 2, "map": ["x-b": 5, "a": "z", "toolongname": 1]]) == [
                ValidationIssue(
                    type: "string_type", loc: ["body", "map", "x-b"], msg: "Input should be a valid string", input: 5),
                ValidationIssue(
                    type: "int_parsing",
                    loc: ["body", "map", "a"],
                    msg: "Input should be a valid integer, unable to parse string as an integer",
                    input: "z"
                ),
                ValidationIssue(
                    type: "string_too_long",
                    loc: ["body", "map", "toolongname"],
                    msg: "String should have at most 8 characters",
                    input: "toolongname",
                    ctx: ["max_length": 8]
                ),
            ]
        )
    }

    @Test func dependentRequired() {
        let schema = validator(schema: [
            "type": "object", "properties": ["card": ["type": "string"], "cvc": ["type": "string"]],
            "dependentRequired": ["card": ["cvc"]],
        ])
        #expect(
            issues(schema, ["card": "4111"])
                == [
                    ValidationIssue(
                        type: "missing", loc: ["body", "cvc"], msg: "Field required", input: ["card": "4111"])
                ]
        )
        #expect(cleaned(schema, ["cvc": "1"]) == ["cvc": "1"])
    }
}

@Suite struct Combinators {
    @Test func nullableAnyOfReportsTheNonNullBranch() throws {
        let order = try validator(SchemaCorpus.createOrder)
        var arguments = minimalOrder
        arguments["note"] = 5
        #expect(
            issues(order, arguments) == [
                ValidationIssue(
                    type: "string_type", loc: ["body", "note"], msg: "Input should be a valid string", input: 5)
            ]
        )
        arguments["note"] = .null
        #expect(cleaned(order, arguments)?["note"] == .null)
    }

    @Test func unionsTryEveryBranchAsSentBeforeCoercing() throws {
        let zoo = try validator(SchemaCorpus.schemaZoo)
        #expect(
            cleaned(zoo, ["s": "ab", "multi": "5", "any_of": "5", "one_of": "5"]) == [
                "s": "ab", "multi": "5", "any_of": "5", "one_of": "5",
            ])
        #expect(cleaned(zoo, ["s": "ab", "any_of": ["1", 2]]) == ["s": "ab", "any_of": [1, 2]])
        #expect(cleaned(zoo, ["s": "ab", "nullable_int": "7"]) == ["s": "ab", "nullable_int": 7])
    }

    @Test func unionOfKindsIsSummarized() throws {
        let zoo = try validator(SchemaCorpus.schemaZoo)
        #expect(
            issues(zoo, ["s": "ab", "any_of": ["a": 1]]) == [
                ValidationIssue(
                    type: "union_type", loc: ["body", "any_of"], msg: "Input should be a valid string or a valid list",
                    input: ["a": 1])
            ]
        )
        #expect(
            issues(zoo, ["s": "ab", "multi": true]) == [
                ValidationIssue(
                    type: "union_type", loc: ["body", "multi"],
                    msg: "Input should be a valid string or a valid integer", input: true)
            ]
        )
        #expect(
            issues(zoo, ["s": "ab", "nullable_int": "x"]) == [
                ValidationIssue(
                    type: "int_parsing",
                    loc: ["body", "nullable_int"],
                    msg: "Input should be a valid integer, unable to parse string as an integer",
                    input: "x"
                )
            ]
        )
    }

    @Test func discriminatedUnionReportsTheBranchThatMatchesTheTag() throws {
        let area = try validator(SchemaCorpus.area)
        #expect(
            cleaned(area, ["shape": ["kind": "circle", "radius": "2", "extra": 1]]) == [
                "shape": ["kind": "circle", "radius": 2]
            ])
        #expect(
            issues(area, ["shape": ["kind": "square", "side": -1]]) == [
                ValidationIssue(
                    type: "greater_than", loc: ["body", "shape", "side"], msg: "Input should be greater than 0",
                    input: -1, ctx: ["gt": 0])
            ]
        )
    }

    @Test func oneOfRefusesATie() {
        let schema = validator(schema: [
            "type": "object", "properties": ["v": ["oneOf": [["type": "number"], ["type": "integer"]]]],
        ])
        #expect(
            issues(schema, ["v": 5]) == [
                ValidationIssue(
                    type: "one_of_ambiguous",
                    loc: ["body", "v"],
                    msg: "Input should match exactly one of the allowed schemas, but it matches 2",
                    input: 5
                )
            ]
        )
        #expect(cleaned(schema, ["v": 5.5]) == ["v": 5.5])
    }

    @Test func oneOfPrefersTheBranchThatKnowsMoreKeys() {
        let schema = validator(schema: [
            "type": "object",
            "properties": [
                "v": [
                    "oneOf": [
                        ["type": "object", "properties": ["a": ["type": "integer"]]],
                        ["type": "object", "properties": ["a": ["type": "integer"], "b": ["type": "string"]]],
                    ]
                ]
            ],
        ])
        #expect(cleaned(schema, ["v": ["a": "1", "b": "x", "c": 0]]) == ["v": ["a": 1, "b": "x"]])
    }

    @Test func allOfNotAndConditionals() throws {
        let zoo = try validator(SchemaCorpus.keywordZoo)
        #expect(issues(zoo, ["count": 2, "both": ""]).map(\.type) == ["string_too_short"])
        // `never` is optional and refuses null, so a null is "not given" rather than an error.
        #expect(cleaned(zoo, ["count": 2, "never": nil]) == ["count": 2])
        let notString = validator(schema: [
            "type": "object", "properties": ["v": ["not": ["type": "string"]]], "required": ["v"],
        ])
        #expect(
            issues(notString, ["v": "x"]) == [
                ValidationIssue(
                    type: "not", loc: ["body", "v"], msg: "Input should not match the excluded schema", input: "x")
            ]
        )
        #expect(cleaned(notString, ["v": 1]) == ["v": 1])
        #expect(issues(zoo, ["count": 2, "conditional": "a"]).map(\.type) == ["string_too_short"])
        #expect(cleaned(zoo, ["count": 2, "conditional": 5]) == ["count": 2, "conditional": 5])
        #expect(issues(zoo, ["count": 2, "conditional": true]).map(\.type) == ["int_type"])
    }

    @Test func allOfBranchesShareTheirKeys() {
        let schema = validator(schema: [
            "allOf": [
                ["type": "object", "properties": ["a": ["type": "integer"]], "required": ["a"]],
                ["properties": ["b": ["type": "boolean"]]],
            ]
        ])
        #expect(cleaned(schema, ["b": "yes", "a": "1", "zz": 0]) == ["b": true, "a": 1])
    }
}

@Suite struct Shaping {
    @Test func unknownKeysAreDroppedAtEveryLevelAndOrderIsKept() throws {
        var arguments: JSON = ["items": [["qty": "2", "sku": "A1", "colour": "red"]], "bogus": true]
        for (key, value) in minimalOrder.objectValue ?? [:] where key != "items" { arguments[key] = value }
        arguments["address"]?["country"] = "NO"
        let result = cleaned(try validator(SchemaCorpus.createOrder), arguments)
        #expect(
            result?.text
                == #"{"items":[{"qty":2,"sku":"A1"}],"customer":"Ada","priority":"high","address":{"street":"1 Main","city":"Oslo"}}"#
        )
    }

    @Test func defaultsAreNotInjected() throws {
        #expect(cleaned(try validator(SchemaCorpus.createOrder), minimalOrder) == minimalOrder)
        #expect(cleaned(try validator(SchemaCorpus.echoArgs), [:]) == [:])
    }

    @Test func additionalPropertiesFalseDropsInsteadOfRefusing() throws {
        #expect(cleaned(try validator(SchemaCorpus.schemaZoo), ["s": "ab", "surprise": 1]) == ["s": "ab"])
    }

    @Test func additionalPropertiesTrueAndFreeFormObjectsKeepEverything() throws {
        #expect(cleaned(try validator(SchemaCorpus.echoArgs), ["a": "1", "zzz": [1]]) == ["a": 1, "zzz": [1]])
        let zoo = try validator(SchemaCorpus.schemaZoo)
        #expect(
            cleaned(zoo, ["s": "ab", "free_obj": ["anything": ["goes": nil]]]) == [
                "s": "ab", "free_obj": ["anything": ["goes": nil]],
            ])
        #expect(
            issues(zoo, ["s": "ab", "addl_obj": ["k": "v"]]) == [
                ValidationIssue(
                    type: "int_parsing",
                    loc: ["body", "addl_obj", "k"],
                    msg: "Input should be a valid integer, unable to parse string as an integer",
                    input: "v"
                )
            ]
        )
        #expect(cleaned(zoo, ["s": "ab", "addl_obj": ["k": "3"]]) == ["s": "ab", "addl_obj": ["k": 3]])
    }

    @Test func nullsForOptionalPropertiesWithoutNullAreDropped() throws {
        let zoo = try validator(SchemaCorpus.schemaZoo)
        #expect(
            cleaned(zoo, ["s": "ab", "color": nil, "nullable_int": nil, "nul": nil]) == [
                "s": "ab", "nullable_int": nil, "nul": nil,
            ])
        #expect(
            issues(zoo, ["s": nil]) == [
                ValidationIssue(
                    type: "string_type", loc: ["body", "s"], msg: "Input should be a valid string", input: nil)
            ]
        )
    }

    @Test func leadingUnderscoreNamesAreOrdinaryKeys() throws {
        let zoo = try validator(SchemaCorpus.schemaZoo)
        #expect(
            cleaned(zoo, ["s": "ab", "_private": "p", "private": "q"]) == ["s": "ab", "_private": "p", "private": "q"])
        #expect(
            cleaned(zoo, ["s": "ab", "nested": ["_meta_key": "m", "inner": ["leaf": "true", "x": 1]]]) == [
                "s": "ab", "nested": ["_meta_key": "m", "inner": ["leaf": true]],
            ])
    }
}

@Suite struct References {
    @Test func recursiveDefs() throws {
        let tree = try validator(SchemaCorpus.tree)
        let deep: JSON = ["root": ["name": "a", "children": [["name": "b", "children": [["name": 5]]]]]]
        #expect(
            issues(tree, deep) == [
                ValidationIssue(
                    type: "string_type",
                    loc: ["body", "root", "children", 0, "children", 0, "name"],
                    msg: "Input should be a valid string",
                    input: 5
                )
            ]
        )
        #expect(
            cleaned(tree, ["root": ["name": "a", "children": [["name": "b", "junk": 1]]]]) == [
                "root": ["name": "a", "children": [["name": "b"]]]
            ])
    }

    @Test func rootRecursion() throws {
        let outline = try validator(SchemaCorpus.rootRecursion)
        #expect(
            issues(outline, ["heading": "A", "subsections": [["subsections": []]]]) == [
                ValidationIssue(
                    type: "missing", loc: ["body", "subsections", 0, "heading"], msg: "Field required",
                    input: ["subsections": []])
            ]
        )
    }

    @Test func pointerIntoOwnProperties() throws {
        let recursive = try validator(SchemaCorpus.recursivePropsRef)
        #expect(
            issues(recursive, ["data": ["children": [["name": 1]]]]).map(\.loc) == [
                ["body", "data", "children", 0, "name"]
            ])
    }

    @Test func zodSchemaWithSharedItems() throws {
        let sendMail = try validator(SchemaCorpus.sendMail)
        let message: JSON = [
            "subject": "Hi", "toRecipients": [["emailAddress": ["address": "a@b.c"]]],
            "ccRecipients": [["emailAddress": ["address": 5, "nick": "x"]]],
        ]
        #expect(
            issues(sendMail, ["body": ["Message": message]]) == [
                ValidationIssue(
                    type: "string_type",
                    loc: ["body", "body", "Message", "ccRecipients", 0, "emailAddress", "address"],
                    msg: "Input should be a valid string",
                    input: 5
                )
            ]
        )
        #expect(
            cleaned(sendMail, ["body": "plain text", "includeHeaders": "yes", "x": 1]) == [
                "body": "plain text", "includeHeaders": true,
            ])
    }

    @Test func draft07SpellingsAreUnderstood() throws {
        let legacy = try validator(SchemaCorpus.draft07)
        #expect(issues(legacy, ["slashed": "toolong"]).map(\.type) == ["string_too_long"])
        #expect(
            issues(legacy, ["percent": 0]) == [
                ValidationIssue(
                    type: "greater_than", loc: ["body", "percent"], msg: "Input should be greater than 0", input: 0,
                    ctx: ["gt": 0])
            ]
        )
        #expect(cleaned(legacy, ["anchored": "yes", "pair": ["a", "1"]]) == ["anchored": true, "pair": ["a", 1]])
        #expect(
            issues(legacy, ["pair": ["a", 1, 2]])
                == [
                    ValidationIssue(
                        type: "not_allowed", loc: ["body", "pair", 2], msg: "No value is allowed here", input: 2)
                ]
        )
    }

    @Test func externalDanglingAndSelfLoopingReferencesConstrainNothing() throws {
        #expect(
            cleaned(try validator(SchemaCorpus.remoteRefs), ["web": 1, "sibling": [2], "dangling": "x"]) == [
                "web": 1, "sibling": [2], "dangling": "x",
            ])
        let looping = validator(schema: [
            "type": "object", "properties": ["x": ["$ref": "#/$defs/A"]],
            "$defs": ["A": ["$ref": "#/$defs/B"], "B": ["$ref": "#/$defs/A", "type": "integer"]],
        ])
        #expect(cleaned(looping, ["x": "4"]) == ["x": 4])
    }
}

extension Result where Failure == BridgeError {
    fileprivate var failureIssues: [ValidationIssue] {
        if case .failure(let failure) = self { return failure.issues }
        return []
    }
}

extension Shaping {
    @Test func emptyPropertiesIsFreeFormButClosedObjectsAreNot() {
        let schema = validator(schema: [
            "type": "object",
            "properties": [
                "meta": ["type": "object", "properties": [:]],
                "none": ["type": "object", "properties": [:], "additionalProperties": false],
            ],
        ])
        #expect(cleaned(schema, ["meta": ["k": 1], "none": ["k": 1]]) == ["meta": ["k": 1], "none": [:]])
    }
}
