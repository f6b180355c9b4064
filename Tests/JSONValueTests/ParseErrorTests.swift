import JSONValue
import Testing

/// One input that must fail, and how.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var input: String
    var expected: Failure

    init(_ input: String, _ message: String, offset: Int, line: Int = 1, column: Int) {
        self.input = input
        self.expected = Failure(message, offset: offset, line: line, column: column)
    }

    var testDescription: String { String(reflecting: input) }
}

@Suite("Parse errors")
struct ParseErrorTests {
    static let strictCases: [ErrorCase] = [
        // Missing values.
        ErrorCase("", "Expecting value", offset: 0, column: 1),
        ErrorCase("   ", "Expecting value", offset: 3, column: 4),
        ErrorCase("\n\n", "Expecting value", offset: 2, line: 3, column: 1),
        ErrorCase(#"{"a": }"#, "Expecting value", offset: 6, column: 7),
        ErrorCase(#"{"a":"#, "Expecting value", offset: 5, column: 6),
        ErrorCase("[", "Expecting value", offset: 1, column: 2),
        ErrorCase("]", "Expecting value", offset: 0, column: 1),
        ErrorCase("[1,]", "Expecting value", offset: 3, column: 4),
        ErrorCase("[,]", "Expecting value", offset: 1, column: 2),
        ErrorCase("\u{C}1", "Expecting value", offset: 0, column: 1),
        // Trailing garbage.
        ErrorCase("[1] x", "Extra data after the JSON value", offset: 4, column: 5),
        ErrorCase("{} {}", "Extra data after the JSON value", offset: 3, column: 4),
        ErrorCase("1 2", "Extra data after the JSON value", offset: 2, column: 3),
        ErrorCase("truex", "Extra data after the JSON value", offset: 4, column: 5),
        ErrorCase(#""a""b""#, "Extra data after the JSON value", offset: 3, column: 4),
        ErrorCase("[1]\n]", "Extra data after the JSON value", offset: 4, line: 2, column: 1),
        // Strings.
        ErrorCase(#""abc"#, "Unterminated string starting", offset: 0, column: 1),
        ErrorCase(#"["abc"#, "Unterminated string starting", offset: 1, column: 2),
        ErrorCase(#"{"key"#, "Unterminated string starting", offset: 1, column: 2),
        ErrorCase(#""abc\"#, "Unterminated string starting", offset: 0, column: 1),
        ErrorCase(#""a\u00e9"#, "Unterminated string starting", offset: 0, column: 1),
        ErrorCase(#"["a\qb"]"#, "Invalid \\escape", offset: 3, column: 4),
        ErrorCase(#""\x""#, "Invalid \\escape", offset: 1, column: 2),
        ErrorCase(#""\U0041""#, "Invalid \\escape", offset: 1, column: 2),
        ErrorCase(#""\'""#, "Invalid \\escape", offset: 1, column: 2),
        ErrorCase(#""\u12G4""#, "Invalid \\uXXXX escape", offset: 5, column: 6),
        ErrorCase(#""\u12""#, "Invalid \\uXXXX escape", offset: 3, column: 4),
        ErrorCase(#""\uD800\u12x4""#, "Invalid \\uXXXX escape", offset: 11, column: 12),
        ErrorCase("\"a\tb\"", "Invalid control character in string", offset: 2, column: 3),
        ErrorCase("\"a\nb\"", "Invalid control character in string", offset: 2, column: 3),
        ErrorCase("\"a\u{0}\"", "Invalid control character in string", offset: 2, column: 3),
        ErrorCase("\"a\u{1F}\"", "Invalid control character in string", offset: 2, column: 3),
        ErrorCase("\"\\n\nb\"", "Invalid control character in string", offset: 3, column: 4),
        // Numbers.
        ErrorCase("01", "Extra data after the JSON value", offset: 1, column: 2),
        ErrorCase("-01", "Extra data after the JSON value", offset: 2, column: 3),
        ErrorCase("00", "Extra data after the JSON value", offset: 1, column: 2),
        ErrorCase("[01]", "Expecting ',' delimiter", offset: 2, column: 3),
        ErrorCase("1.", "Expecting digits after the decimal point", offset: 2, column: 3),
        ErrorCase("1.e3", "Expecting digits after the decimal point", offset: 2, column: 3),
        ErrorCase("[-1.]", "Expecting digits after the decimal point", offset: 4, column: 5),
        ErrorCase("-", "Expecting value", offset: 0, column: 1),
        ErrorCase("[-]", "Expecting value", offset: 1, column: 2),
        ErrorCase("-a", "Expecting value", offset: 0, column: 1),
        ErrorCase(".5", "Expecting value", offset: 0, column: 1),
        ErrorCase("+1", "Expecting value", offset: 0, column: 1),
        ErrorCase("1e", "Expecting digits in the exponent", offset: 2, column: 3),
        ErrorCase("1e+", "Expecting digits in the exponent", offset: 3, column: 4),
        ErrorCase("1E-x", "Expecting digits in the exponent", offset: 3, column: 4),
        ErrorCase("NaN", "Expecting value", offset: 0, column: 1),
        ErrorCase("-Infinity", "Expecting value", offset: 0, column: 1),
        ErrorCase("0x10", "Extra data after the JSON value", offset: 1, column: 2),
        // Literals.
        ErrorCase("tru", "Expecting value", offset: 0, column: 1),
        ErrorCase("nul", "Expecting value", offset: 0, column: 1),
        ErrorCase("True", "Expecting value", offset: 0, column: 1),
        ErrorCase("[fals]", "Expecting value", offset: 1, column: 2),
        ErrorCase("undefined", "Expecting value", offset: 0, column: 1),
        // Structure.
        ErrorCase("[1", "Expecting ',' delimiter", offset: 2, column: 3),
        ErrorCase("[1 2]", "Expecting ',' delimiter", offset: 3, column: 4),
        ErrorCase("[1}", "Expecting ',' delimiter", offset: 2, column: 3),
        ErrorCase("{", "Expecting property name enclosed in double quotes", offset: 1, column: 2),
        ErrorCase("{1:2}", "Expecting property name enclosed in double quotes", offset: 1, column: 2),
        ErrorCase("{'a':1}", "Expecting property name enclosed in double quotes", offset: 1, column: 2),
        ErrorCase("{a:1}", "Expecting property name enclosed in double quotes", offset: 1, column: 2),
        ErrorCase(#"{"a":1,}"#, "Expecting property name enclosed in double quotes", offset: 7, column: 8),
        ErrorCase(#"{"a""#, "Expecting ':' delimiter", offset: 4, column: 5),
        ErrorCase(#"{"a" 1}"#, "Expecting ':' delimiter", offset: 5, column: 6),
        ErrorCase(#"{"a"=1}"#, "Expecting ':' delimiter", offset: 4, column: 5),
        ErrorCase(#"{"a":1"#, "Expecting ',' delimiter", offset: 6, column: 7),
        ErrorCase(#"{"a":1 "b":2}"#, "Expecting ',' delimiter", offset: 7, column: 8),
        ErrorCase(#"{"a":1]"#, "Expecting ',' delimiter", offset: 6, column: 7),
        // Comments are not JSON.
        ErrorCase("// c\n1", "Expecting value", offset: 0, column: 1),
        ErrorCase("/* c */ 1", "Expecting value", offset: 0, column: 1),
        ErrorCase("1 // c", "Extra data after the JSON value", offset: 2, column: 3),
        ErrorCase("[1 // c\n]", "Expecting ',' delimiter", offset: 3, column: 4),
        ErrorCase("{/* c */}", "Expecting property name enclosed in double quotes", offset: 1, column: 2),
        // Lines and columns.
        ErrorCase("{\n  \"a\": 1,\n  \"b\" 2\n}", "Expecting ':' delimiter", offset: 18, line: 3, column: 7),
        ErrorCase("[\r\n1,\r\n]", "Expecting value", offset: 7, line: 3, column: 1),
        ErrorCase("[\n\n\n  tru\n]", "Expecting value", offset: 6, line: 4, column: 3),
        ErrorCase("\"line\n\"", "Invalid control character in string", offset: 5, column: 6),
    ]

    @Test("Strict mode errors", arguments: strictCases)
    func strictError(_ errorCase: ErrorCase) {
        #expect(parseFailure(errorCase.input) == errorCase.expected)
        #expect(parseFailure(errorCase.input, options: .strict) == errorCase.expected)
    }

    static let lenientCases: [ErrorCase] = [
        ErrorCase("[,]", "Expecting value", offset: 1, column: 2),
        ErrorCase("[1,,]", "Expecting value", offset: 3, column: 4),
        ErrorCase("[1,,2]", "Expecting value", offset: 3, column: 4),
        ErrorCase("{,}", "Expecting property name enclosed in double quotes", offset: 1, column: 2),
        ErrorCase(#"{"a":1,,}"#, "Expecting property name enclosed in double quotes", offset: 7, column: 8),
        ErrorCase("[1,] ,", "Extra data after the JSON value", offset: 5, column: 6),
        ErrorCase("[1 /* x", "Unterminated /* comment", offset: 3, column: 4),
        ErrorCase("/*/ 1", "Unterminated /* comment", offset: 0, column: 1),
        ErrorCase("1 /* a *", "Unterminated /* comment", offset: 2, column: 3),
        ErrorCase("1 /", "Unexpected '/'", offset: 2, column: 3),
        ErrorCase("[1 / 2]", "Unexpected '/'", offset: 3, column: 4),
        ErrorCase("// only a comment", "Expecting value", offset: 17, column: 18),
        ErrorCase("/* a */\n// b\n", "Expecting value", offset: 13, line: 3, column: 1),
        ErrorCase("# hash", "Expecting value", offset: 0, column: 1),
        ErrorCase("{a:1}", "Expecting property name enclosed in double quotes", offset: 1, column: 2),
        ErrorCase("01", "Extra data after the JSON value", offset: 1, column: 2),
    ]

    @Test("Lenient mode errors", arguments: lenientCases)
    func lenientError(_ errorCase: ErrorCase) {
        #expect(parseFailure(errorCase.input, options: .lenientConfig) == errorCase.expected)
    }

    @Test func descriptionNamesLineAndColumn() {
        do {
            _ = try JSON.parse("{\n  \"a\": 1,\n  \"b\" 2\n}")
            Issue.record("parsed")
        } catch {
            #expect(error.description == "Expecting ':' delimiter at line 3, column 7")
            #expect(error.message == "Expecting ':' delimiter")
            #expect(error.offset == 18)
            #expect(error.line == 3)
            #expect(error.column == 7)
        }
    }

    @Test func errorsThrownThroughExpectThrows() {
        let error = #expect(throws: JSONParseError.self) { try JSON.parse(#"{"a": }"#) }
        #expect(error.map(Failure.init) == Failure("Expecting value", offset: 6, column: 7))
    }

    @Test func byteOrderMarkCountsInOffsets() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("[1,]".utf8)
        let error = #expect(throws: JSONParseError.self) { try JSON.parse(bytes) }
        #expect(error.map(Failure.init) == Failure("Expecting value", offset: 6, column: 7))
    }
}
