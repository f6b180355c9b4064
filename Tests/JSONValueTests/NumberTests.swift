import JSONValue
import Testing

@Suite("Numbers")
struct NumberTests {
    static let spellings = [
        "0", "-0", "0.0", "-0.0", "1", "-1", "1e3", "1E3", "1e+3", "1e-3", "1E-03", "0e0", "1.5e10", "0.1",
        "100", "3.141592653589793238462643383279", "12345678901234567890123", "-12345678901234567890123.456e-7",
        "1e400", "9223372036854775808",
    ]

    @Test("Numbers are written back exactly as they were spelled", arguments: spellings)
    func keptAsWritten(_ spelling: String) throws {
        let value = try JSON.parse(spelling)
        #expect(value.numberValue?.text == spelling)
        #expect(value.text == spelling)
        #expect(try reparsed("[\(spelling)]") == "[\(spelling)]")
        #expect(try reparsed(#"{"n":\#(spelling)}"#) == #"{"n":\#(spelling)}"#)
    }

    @Test func allSpellingsInOneDocument() throws {
        let text = "[" + Self.spellings.joined(separator: ",") + "]"
        #expect(try reparsed(text) == text)
    }

    @Test func equalityAcrossSpellings() throws {
        func number(_ text: String) -> JSONNumber { JSONNumber(uncheckedText: text) }
        #expect(number("1") == number("1.0"))
        #expect(number("1") == number("1e0"))
        #expect(number("1") == number("10e-1"))
        #expect(number("1") == number("0.1e1"))
        #expect(number("100") == number("1E2"))
        #expect(number("0") == number("-0"))
        #expect(number("0") == number("0.0"))
        #expect(number("-0.0") == number("0e5"))
        #expect(number("1") != number("2"))
        #expect(number("1.5") != number("1.25"))
        #expect(number("-1") != number("1"))
        #expect(JSONNumber(1) == JSONNumber(1.0))
        #expect(JSONNumber(1) == number("1.0"))

        #expect(try JSON.parse("1") == JSON.parse("1.0"))
        #expect(try JSON.parse("[1,2e0]") == JSON.parse("[1.0,2]"))
        #expect(JSON.int(1) == JSON.double(1.0))
        #expect(try JSON.parse("1") != JSON.parse(#""1""#))
        // Equal values keep their own spelling.
        #expect(try JSON.parse("1.0").text == "1.0")
    }

    @Test func equalNumbersHashAlike() {
        let spellings = ["1", "1.0", "1e0", "10e-1", "0.1E1"].map { JSONNumber(uncheckedText: $0) }
        #expect(Set(spellings).count == 1)
        #expect(Set(spellings.map { $0.hashValue }).count == 1)
        #expect(JSONNumber(uncheckedText: "0").hashValue == JSONNumber(uncheckedText: "-0").hashValue)
        let values: Set<JSON> = [.int(1), .double(1.0), .number(JSONNumber(uncheckedText: "1e0")), .int(2)]
        #expect(values.count == 2)
    }

    @Test(
        "intValue is the number when it is exactly an integer",
        arguments: [
            ("3", 3), ("3.0", 3), ("3e0", 3), ("-0", 0), ("-0.0", 0), ("1e3", 1000), ("-42", -42),
            ("8e15", 8_000_000_000_000_000), ("9223372036854775807", Int.max), ("-9223372036854775808", Int.min),
        ] as [(String, Int)]
    )
    func intValue(_ text: String, _ expected: Int) {
        #expect(JSONNumber(uncheckedText: text).intValue == expected)
        #expect(JSON.number(JSONNumber(uncheckedText: text)).intValue == expected)
    }

    @Test(
        "intValue is nil for fractions and integers beyond exact range",
        arguments: ["1.5", "1e-1", "-0.5", "12345678901234567890123", "9223372036854775808", "1e16", "1e400"]
    )
    func noIntValue(_ text: String) {
        #expect(JSONNumber(uncheckedText: text).intValue == nil)
    }

    @Test func isIntegerLiteral() {
        for text in ["0", "-0", "3", "-42", "12345678901234567890123"] {
            #expect(JSONNumber(uncheckedText: text).isIntegerLiteral, "\(text)")
        }
        for text in ["3.0", "0.5", "1e3", "1E3", "1e-3", "-2.5E+7"] {
            #expect(!JSONNumber(uncheckedText: text).isIntegerLiteral, "\(text)")
        }
        #expect(JSONNumber(7).isIntegerLiteral)
        #expect(!JSONNumber(7.0).isIntegerLiteral)
    }

    @Test func schemaTypeNameOfNumbers() throws {
        #expect(try JSON.parse("3").schemaTypeName == "integer")
        #expect(try JSON.parse("-0").schemaTypeName == "integer")
        #expect(try JSON.parse("3.0").schemaTypeName == "number")
        #expect(try JSON.parse("1e3").schemaTypeName == "number")
        #expect(try JSON.parse("1.5").schemaTypeName == "number")
        // Written as an integer but not representable as Int.
        #expect(try JSON.parse("12345678901234567890123").schemaTypeName == "number")
        #expect(JSON.int(5).schemaTypeName == "integer")
        #expect(JSON.double(5).schemaTypeName == "number")
    }

    @Test func doubleValue() {
        #expect(JSONNumber(uncheckedText: "1e3").doubleValue == 1000)
        #expect(JSONNumber(uncheckedText: "-2.5").doubleValue == -2.5)
        #expect(JSONNumber(uncheckedText: "-0").doubleValue.sign == .minus)
        #expect(JSONNumber(uncheckedText: "12345678901234567890123").doubleValue == 1.2345678901234568e22)
        #expect(JSONNumber(uncheckedText: "1e400").doubleValue == .infinity)
        #expect(JSON.number(JSONNumber(uncheckedText: "0.25")).doubleValue == 0.25)
        #expect(JSON.string("1").doubleValue == nil)
    }

    @Test(
        "Swift doubles get a JSON spelling",
        arguments: [
            (2.0, "2.0"), (-3.0, "-3.0"), (0.0, "0.0"), (1.5, "1.5"), (0.1, "0.1"), (-0.25, "-0.25"),
            (999_999_999_999_999.0, "999999999999999.0"), (1e15, "1000000000000000.0"), (1e16, "1e+16"),
            (1e20, "1e+20"), (1e-7, "1e-07"),
            (.nan, "null"), (.infinity, "null"), (-.infinity, "null"),
        ] as [(Double, String)]
    )
    func fromDouble(_ value: Double, _ expected: String) throws {
        #expect(JSONNumber(value).text == expected)
        #expect(JSON.double(value).text == expected)
        // Every spelling is valid JSON.
        #expect(try reparsed(expected) == expected)
    }

    @Test func fromInt() {
        #expect(JSONNumber(42).text == "42")
        #expect(JSONNumber(-7).text == "-7")
        #expect(JSONNumber(Int.max).text == "9223372036854775807")
        #expect(JSON.int(Int.min).text == "-9223372036854775808")
        #expect(JSONNumber(3).description == "3")
    }
}

@Suite struct LargeIntegerEquality {
    @Test func integersBeyondDoublePrecisionStayDistinct() throws {
        let a = try JSON.parse("12345678901234567890123")
        let b = try JSON.parse("12345678901234567890124")
        #expect(a != b)
        #expect(try JSON.parse("9007199254740993") != JSON.parse("9007199254740992"))
        #expect(try JSON.parse("-0") == JSON.parse("0"))
        #expect(try JSON.parse("1") == JSON.parse("1.0"))
    }
}
