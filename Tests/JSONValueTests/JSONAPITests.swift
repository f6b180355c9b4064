import JSONValue
import Testing

@Suite("JSON value API")
struct JSONAPITests {
    @Test func literalInitialisers() {
        let value: JSON = [
            "null": nil, "bool": true, "int": 42, "negative": -7, "double": 2.5, "whole": 2.0, "string": "text",
            "array": [1, "two", [3]], "object": ["z": 1, "a": 2], "emptyArray": [], "emptyObject": [:],
        ]
        #expect(
            value.text
                == #"{"null":null,"bool":true,"int":42,"negative":-7,"double":2.5,"whole":2.0,"string":"text","#
                + #""array":[1,"two",[3]],"object":{"z":1,"a":2},"emptyArray":[],"emptyObject":{}}"#
        )
        #expect(value["null"] == .null)
        #expect(value["bool"] == .bool(true))
        #expect(value["int"]?.numberValue?.text == "42")
        #expect(value["whole"]?.numberValue?.text == "2.0")
        #expect(value["string"] == .string("text"))
        #expect(value["array"] == .array([.int(1), .string("two"), .array([.int(3)])]))
        #expect(value["object"] == .object(["z": .int(1), "a": .int(2)]))

        let null: JSON = nil
        let yes: JSON = true
        let int: JSON = 5
        let double: JSON = 0.5
        let string: JSON = "s"
        #expect(null == .null)
        #expect(yes == .bool(true))
        #expect(int == .number(JSONNumber(uncheckedText: "5")))
        #expect(double.numberValue?.text == "0.5")
        #expect(string == .string("s"))
    }

    @Test func dictionaryLiteralWithRepeatedKeyKeepsLastValueInFirstPlace() {
        let value: JSON = ["a": 1, "b": 2, "a": 3]
        #expect(value.text == #"{"a":3,"b":2}"#)
    }

    @Test func keySubscript() throws {
        let value = try JSON.parse(#"{"a":1,"b":{"c":"d"},"n":null}"#)
        #expect(value["a"] == .int(1))
        #expect(value["b"]?["c"] == .string("d"))
        #expect(value["n"] == .null)
        #expect(value["missing"] == nil)
        #expect(value["b"]?["missing"] == nil)
        #expect(value[0] == nil)
        #expect(JSON.array([1])["a"] == nil)
        #expect(JSON.string("a")["a"] == nil)
    }

    @Test func keySubscriptSetter() {
        var value: JSON = ["a": 1, "b": 2]
        value["c"] = 3
        #expect(value.text == #"{"a":1,"b":2,"c":3}"#)
        value["a"] = "changed"
        #expect(value.text == #"{"a":"changed","b":2,"c":3}"#)
        value["b"] = nil
        #expect(value.text == #"{"a":"changed","c":3}"#)
        value["b"] = .null
        #expect(value.text == #"{"a":"changed","c":3,"b":null}"#)
        value["missing"] = nil
        #expect(value.text == #"{"a":"changed","c":3,"b":null}"#)

        var nested: JSON = ["outer": ["inner": 1]]
        nested["outer"]?["inner"] = 2
        nested["outer"]?["added"] = true
        #expect(nested.text == #"{"outer":{"inner":2,"added":true}}"#)

        // Not an object: nothing happens.
        var array: JSON = [1, 2]
        array["a"] = 1
        #expect(array == [1, 2])
        var scalar: JSON = "s"
        scalar["a"] = 1
        #expect(scalar == "s")
    }

    @Test func indexSubscript() throws {
        let value = try JSON.parse(#"[10,"x",[true],{"k":null}]"#)
        #expect(value[0] == .int(10))
        #expect(value[1] == .string("x"))
        #expect(value[2]?[0] == .bool(true))
        #expect(value[3]?["k"] == .null)
        #expect(value[4] == nil)
        #expect(value[-1] == nil)
        #expect(value[Int.max] == nil)
        #expect(value["0"] == nil)
        #expect(JSON.object(["0": 1])[0] == nil)
        #expect(JSON.array([])[0] == nil)
    }

    @Test func accessorsMatchOnlyTheirCase() {
        let values: [JSON] = [nil, true, 3, 1.5, "s", [1], ["k": 1]]
        #expect(values.map(\.isNull) == [true, false, false, false, false, false, false])
        #expect(values.map(\.boolValue) == [nil, true, nil, nil, nil, nil, nil])
        #expect(values.map(\.intValue) == [nil, nil, 3, nil, nil, nil, nil])
        #expect(values.map(\.doubleValue) == [nil, nil, 3, 1.5, nil, nil, nil])
        #expect(values.map(\.numberValue?.text) == [nil, nil, "3", "1.5", nil, nil, nil])
        #expect(values.map(\.stringValue) == [nil, nil, nil, nil, "s", nil, nil])
        #expect(values.map(\.arrayValue) == [nil, nil, nil, nil, nil, [.int(1)], nil])
        #expect(values.map(\.objectValue) == [nil, nil, nil, nil, nil, nil, ["k": .int(1)]])
        #expect(
            values.map(\.schemaTypeName) == ["null", "boolean", "integer", "number", "string", "array", "object"]
        )
    }

    @Test func factoryFunctions() {
        #expect(JSON.int(7) == .number(JSONNumber(7)))
        #expect(JSON.int(7).text == "7")
        #expect(JSON.double(7).text == "7.0")
        #expect(JSON.double(0.5).text == "0.5")
        let object: OrderedJSONObject = ["b": 1, "a": 2]
        #expect(JSON.object(object).text == #"{"b":1,"a":2}"#)
    }

    @Test func objectEqualityIsOrderSensitive() throws {
        #expect(try JSON.parse(#"{"a":1,"b":2}"#) == JSON.parse(#"{"a":1,"b":2}"#))
        #expect(try JSON.parse(#"{"a":1,"b":2}"#) != JSON.parse(#"{"b":2,"a":1}"#))
        #expect(try JSON.parse(#"{"a":1}"#) != JSON.parse(#"{"a":1,"b":2}"#))
    }

    @Test func differentCasesAreNotEqual() {
        let values: [JSON] = [nil, false, 0, "", [], [:], "0", "null", "false"]
        for (i, left) in values.enumerated() {
            for (j, right) in values.enumerated() {
                #expect((left == right) == (i == j), "\(left) vs \(right)")
            }
        }
        #expect(Set(values).count == values.count)
    }
}
