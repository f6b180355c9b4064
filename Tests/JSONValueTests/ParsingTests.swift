import JSONValue
import Testing

@Suite("Parsing values")
struct ParsingTests {
    @Test func literals() throws {
        #expect(try JSON.parse("null") == .null)
        #expect(try JSON.parse("true") == .bool(true))
        #expect(try JSON.parse("false") == .bool(false))
        #expect(try JSON.parse("null").isNull)
        #expect(try JSON.parse("true").boolValue == true)
        #expect(try JSON.parse("false").boolValue == false)
        #expect(try JSON.parse("[true,false,null]") == .array([.bool(true), .bool(false), .null]))
        #expect(try reparsed("[true,false,null]") == "[true,false,null]")
    }

    @Test func scalarsAtTopLevel() throws {
        #expect(try JSON.parse("42") == .number(JSONNumber(uncheckedText: "42")))
        #expect(try JSON.parse(#""hi""#) == .string("hi"))
        #expect(try JSON.parse(#""""#) == .string(""))
        #expect(try JSON.parse("[]") == .array([]))
        #expect(try JSON.parse("{}") == .object([:]))
    }

    @Test func nestedArraysAndObjects() throws {
        let text = #"{"a":[1,[2,[3,{"b":{"c":[[],{}]}}]]],"d":{"e":{"f":null}}}"#
        let value = try JSON.parse(text)
        #expect(value.text == text)
        #expect(value["a"]?[1]?[1]?[1]?["b"]?["c"]?[0] == .array([]))
        #expect(value["a"]?[1]?[1]?[1]?["b"]?["c"]?[1] == .object([:]))
        #expect(value["a"]?[1]?[1]?[0]?.intValue == 3)
        #expect(value["d"]?["e"]?["f"] == .null)
        #expect(value["d"]?["e"]?["missing"] == nil)

        let expected: JSON = [
            "a": [1, [2, [3, ["b": ["c": [[], [:]]]]]]],
            "d": ["e": ["f": nil]],
        ]
        #expect(value == expected)
    }

    @Test func manyKeysKeepTheirOrderByteForByte() throws {
        // 7919 is prime, so this visits 0..<500 in a scrambled order that sorts neither way.
        let names = (0..<500).map { "k\(($0 * 7919) % 500)" }
        let members = names.enumerated().map { #""\#($0.element)":\#($0.offset)"# }
        let text = "{" + members.joined(separator: ",") + "}"

        let value = try JSON.parse(text)
        #expect(value.objectValue.map { Array($0.keys) } == names)
        #expect(value.bytes == Array(text.utf8))
        #expect(value.text == text)
        #expect(try JSON.parse(value.prettyText).text == text)
        #expect(value["k0"]?.intValue == 0)
        #expect(value[names[499]]?.intValue == 499)
    }

    @Test func keyOrderInNestedSchemaIsKept() throws {
        let text =
            #"{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"},"#
            + #""Mike":{"type":"boolean"},"_":{},"10":{},"9":{},"":{}},"required":["zeta","alpha"],"#
            + #""additionalProperties":false}"#
        let value = try JSON.parse(text)
        #expect(value.text == text)
        #expect(value.objectValue.map { Array($0.keys) } == ["type", "properties", "required", "additionalProperties"])
        let propertyNames = value["properties"]?.objectValue.map { Array($0.keys) }
        #expect(propertyNames == ["zeta", "alpha", "Mike", "_", "10", "9", ""])
    }

    @Test func duplicateKeysKeepFirstPositionAndLastValue() throws {
        let value = try JSON.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.text == #"{"a":3,"b":2}"#)
        #expect(value.objectValue?.count == 2)
    }

    @Test func whitespaceAroundEveryToken() throws {
        let text = " \t\r\n{ \"a\" :\t[ 1 ,\r\n2 , { } , [ ] ] ,\n\"b\"\n:\n\"x y\" } \n\t\r "
        #expect(try reparsed(text) == #"{"a":[1,2,{},[]],"b":"x y"}"#)
        #expect(try reparsed("\n\n  true  \n") == "true")
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(try JSON.parse(bom + Array(#"{"a":1}"#.utf8)).text == #"{"a":1}"#)
        #expect(try JSON.parse(bom + Array(" [1] ".utf8)).text == "[1]")
        #expect(try JSON.parse("\u{FEFF}\"x\"") == .string("x"))
        // Only at the very start: afterwards it is not white space.
        #expect(parseFailure(" \u{FEFF}1") == Failure("Expecting value", offset: 1, column: 2))
        #expect(parseFailure("\u{FEFF}\u{FEFF}1") == Failure("Expecting value", offset: 3, column: 4))
        #expect(parseFailure("\u{FEFF}") == Failure("Expecting value", offset: 3, column: 4))
    }

    @Test func anyByteSequenceParses() throws {
        let text = #"{"k":[1,"v"]}"#
        #expect(try JSON.parse(Array(text.utf8)).text == text)
        #expect(try JSON.parse(ContiguousArray(text.utf8)).text == text)
        #expect(try JSON.parse(text.utf8).text == text)
        // Not contiguous: the parser copies it first.
        #expect(try JSON.parse(AnySequence(Array(text.utf8))).text == text)
        // A slice counts offsets from its own start.
        let padded = Array("xx[1,]yy".utf8)
        #expect(try JSON.parse(padded[2..<4] + Array("]".utf8)).text == "[1]")
        do {
            _ = try JSON.parse(padded[2..<6])
            Issue.record("[1,] parsed")
        } catch {
            #expect(Failure(error) == Failure("Expecting value", offset: 3, column: 4))
        }
        do {
            _ = try JSON.parse(AnySequence(Array("[1 2]".utf8)))
            Issue.record("[1 2] parsed")
        } catch {
            #expect(Failure(error) == Failure("Expecting ',' delimiter", offset: 3, column: 4))
        }
    }

    @Test func emptyKeyAndEmptyContainers() throws {
        let value = try JSON.parse(#"{"":{"":[]}}"#)
        #expect(value[""]?[""] == .array([]))
        #expect(value.text == #"{"":{"":[]}}"#)
    }
}
