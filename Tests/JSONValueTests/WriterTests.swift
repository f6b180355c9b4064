import JSONValue
import Testing

@Suite("Writing")
struct WriterTests {
    @Test func compactText() {
        let value: JSON = ["b": [1, 2.5, "x", nil, true, false], "a": [:], "c": []]
        #expect(value.text == #"{"b":[1,2.5,"x",null,true,false],"a":{},"c":[]}"#)
        #expect(value.bytes == Array(value.text.utf8))
        #expect(value.description == value.text)
        #expect("\(value)" == value.text)
    }

    @Test func writeIntoAppends() {
        var out = Array("prefix:".utf8)
        JSON.array([.int(1), .null]).write(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "prefix:[1,null]")
    }

    @Test func prettyTextExact() throws {
        let value: JSON = [
            "name": "demo",
            "tags": ["a", "b/c"],
            "empty": [:],
            "none": [],
            "nested": ["k": nil, "n": 1.5, "deeper": [[true], ["x": 0]]],
            "last": "é\n",
        ]
        let expected = """
            {
              "name": "demo",
              "tags": [
                "a",
                "b/c"
              ],
              "empty": {},
              "none": [],
              "nested": {
                "k": null,
                "n": 1.5,
                "deeper": [
                  [
                    true
                  ],
                  {
                    "x": 0
                  }
                ]
              },
              "last": "é\\n"
            }
            """
        #expect(value.prettyText == expected)
        #expect(try JSON.parse(value.prettyText) == value)
    }

    @Test func prettyTextOfScalarsAndEmptyContainers() {
        #expect(JSON.int(1).prettyText == "1")
        #expect(JSON.null.prettyText == "null")
        #expect(JSON.string("a\"b").prettyText == #""a\"b""#)
        #expect(JSON.array([]).prettyText == "[]")
        #expect(JSON.object([:]).prettyText == "{}")
        #expect(JSON.array([.int(1)]).prettyText == "[\n  1\n]")
    }

    @Test func parsedDocumentRoundTripsExactly() throws {
        let text =
            #"{"z":[1,-0,0.0,1e3,1E-2,{"y":null,"x":[true,false,[]],"w":{}}],"a":"é/😀","m":"\"\\\n\t\u0001","#
            + #""big":12345678901234567890123,"neg":-1.5e-300}"#
        let value = try JSON.parse(text)
        #expect(value.text == text)
        #expect(try JSON.parse(value.prettyText).text == text)
    }

    @Test func fiveMegabyteStringRoundTrips() throws {
        let unit = "abcdefghij klmnopqrstuvwxyz 0123456789 é日😀/ "
        let big = String(repeating: unit, count: 5_000_000 / unit.utf8.count + 1)
        #expect(big.utf8.count >= 5_000_000)
        let bytes = JSON.string(big).bytes
        #expect(bytes.count == big.utf8.count + 2)
        let parsed = try JSON.parse(bytes)
        #expect(parsed.stringValue?.utf8.elementsEqual(big.utf8) == true)
        #expect(parsed.bytes == bytes)
    }

    @Test func fiveMegabyteEscapedStringRoundTrips() throws {
        let unit = "line\n\t\"quoted\" \\ back \u{1} é😀 "
        let big = String(repeating: unit, count: 5_000_000 / unit.utf8.count + 1)
        let text = JSON.string(big).text
        // Five characters per unit gain a backslash and U+0001 grows by five bytes to `\u0001`.
        #expect(text.utf8.count == 2 + big.utf8.count + (big.utf8.count / unit.utf8.count) * (5 + 5))
        let parsed = try JSON.parse(text)
        #expect(parsed.stringValue?.utf8.elementsEqual(big.utf8) == true)
        #expect(parsed.text == text)
    }

    @Test func largeArrayAndObjectRoundTrip() throws {
        let array = "[" + (0..<200_000).map { "\($0 * 7 % 1_000).\($0 % 10)" }.joined(separator: ",") + "]"
        #expect(try reparsed(array) == array)
        let object = "{" + (0..<50_000).map { #""key\#(49_999 - $0)":[\#($0),"v"]"# }.joined(separator: ",") + "}"
        let value = try JSON.parse(object)
        #expect(value.objectValue?.count == 50_000)
        #expect(value.objectValue?.keys.first == "key49999")
        #expect(value.text == object)
    }
}

@Suite("Text passed on as it is")
struct ExactTextTests {
    @Test("parseTellingExactness: a byte order mark or a repeated key, at any depth, makes the text inexact")
    func exactness() throws {
        let plain = try JSON.parseTellingExactness(Array(#" {"a": 1.50, "b": {"c": "\u00e9"}} "#.utf8))
        #expect(plain.isExact && plain.value == ["a": .number(JSONNumber(uncheckedText: "1.50")), "b": ["c": "é"]])
        let marked = try JSON.parseTellingExactness([0xEF, 0xBB, 0xBF] + Array("{}".utf8))
        #expect(!marked.isExact)
        let repeated = try JSON.parseTellingExactness(Array(#"{"a": 1, "a": 2}"#.utf8))
        #expect(!repeated.isExact && repeated.value == ["a": 2], "the value keeps the last")
        let nested = try JSON.parseTellingExactness(Array(#"[{"x": {"k": 1, "k": 1}}]"#.utf8))
        #expect(!nested.isExact)
        #expect(throws: JSONParseError.self) { try JSON.parseTellingExactness(Array("{".utf8)) }
    }

    @Test("writeObject writes the members, then the encoded member as it is")
    func encodedMember() throws {
        var out: [UInt8] = []
        JSON.writeObject(["name": "echo"], appending: "arguments", encoded: Array(#" {"t": 1.50} "#.utf8), into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"name":"echo","arguments": {"t": 1.50} }"#)
        out = []
        JSON.writeObject([:], appending: "a", encoded: Array("[]".utf8), into: &out)
        #expect(try JSON.parse(out) == ["a": []])
    }
}
