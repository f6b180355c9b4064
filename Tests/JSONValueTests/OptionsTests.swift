import JSONValue
import Testing

@Suite("Parse options")
struct OptionsTests {
    @Test func presets() {
        let strict = JSONParseOptions.strict
        #expect(!strict.allowComments)
        #expect(!strict.allowTrailingCommas)
        #expect(strict.maxDepth == 512)
        let lenient = JSONParseOptions.lenientConfig
        #expect(lenient.allowComments)
        #expect(lenient.allowTrailingCommas)
        #expect(lenient.maxDepth == 512)
        let defaults = JSONParseOptions()
        #expect(!defaults.allowComments && !defaults.allowTrailingCommas && defaults.maxDepth == 512)
    }

    @Test func lenientConfigAcceptsCommentsAndTrailingCommas() throws {
        let text = """
            // mcpo config
            {
              /* servers */
              "mcpServers": {
                "time": {
                  "command": "uvx", // the runner
                  "args": ["mcp-server-time", "--local-timezone=America/New_York",],
                },
              },
              "url": "http://example.com/a//b", /* not a comment inside strings: // or /* */
              "list": [1, /* two */ 2, 3 /* three */,],
              "empty": [ /* nothing */ ],
              "nothing": { // at all
              }
            } // end
            """
        #expect(
            try reparsed(text, options: .lenientConfig)
                == #"{"mcpServers":{"time":{"command":"uvx","args":["mcp-server-time","#
                + #""--local-timezone=America/New_York"]}},"url":"http://example.com/a//b","#
                + #""list":[1,2,3],"empty":[],"nothing":{}}"#
        )
    }

    @Test func commentForms() throws {
        let lenient = JSONParseOptions.lenientConfig
        #expect(try reparsed("1 // no newline at the end", options: lenient) == "1")
        #expect(try reparsed("/**/1/**/", options: lenient) == "1")
        #expect(try reparsed("/* a * b / c **/ [1]", options: lenient) == "[1]")
        #expect(try reparsed("/* line 1\n line 2 */ true", options: lenient) == "true")
        #expect(try reparsed(#"{"a"/*x*/:/*y*/1/*z*/}"#, options: lenient) == #"{"a":1}"#)
        #expect(
            try reparsed(#"["// not a comment", "/* nor this */"]"#, options: lenient)
                == #"["// not a comment","/* nor this */"]"#
        )
        #expect(try reparsed("[1//c\n,2]", options: lenient) == "[1,2]")
    }

    @Test func trailingCommas() throws {
        let lenient = JSONParseOptions.lenientConfig
        #expect(try reparsed("[1,]", options: lenient) == "[1]")
        #expect(try reparsed("[1, 2 ,\n]", options: lenient) == "[1,2]")
        #expect(try reparsed(#"{"a":1,}"#, options: lenient) == #"{"a":1}"#)
        #expect(try reparsed(#"{"a":[{},],"b":{"c":[],},}"#, options: lenient) == #"{"a":[{}],"b":{"c":[]}}"#)
        #expect(parseFailure("[,]", options: lenient) == Failure("Expecting value", offset: 1, column: 2))
        #expect(
            parseFailure("{,}", options: lenient)
                == Failure("Expecting property name enclosed in double quotes", offset: 1, column: 2)
        )
    }

    @Test func eachRelaxationIsIndependent() throws {
        let commasOnly = JSONParseOptions(allowTrailingCommas: true)
        #expect(try reparsed("[1,]", options: commasOnly) == "[1]")
        #expect(
            parseFailure("[1, // c\n]", options: commasOnly)
                == Failure("Expecting value", offset: 4, column: 5)
        )

        let commentsOnly = JSONParseOptions(allowComments: true)
        #expect(try reparsed("[1 // c\n]", options: commentsOnly) == "[1]")
        #expect(parseFailure("[1,]", options: commentsOnly) == Failure("Expecting value", offset: 3, column: 4))
        #expect(
            parseFailure(#"{"a":1,}"#, options: commentsOnly)
                == Failure("Expecting property name enclosed in double quotes", offset: 7, column: 8)
        )
    }

    @Test func strictRejectsWhatLenientAccepts() {
        #expect(parseFailure("// c\n1") == Failure("Expecting value", offset: 0, column: 1))
        #expect(parseFailure("[1,]") == Failure("Expecting value", offset: 3, column: 4))
        #expect(
            parseFailure(#"{"a":1,}"#)
                == Failure("Expecting property name enclosed in double quotes", offset: 7, column: 8)
        )
    }
}

@Suite("Nesting depth")
struct DepthTests {
    @Test func hundredThousandOpenBracketsFailCleanly() {
        let text = String(repeating: "[", count: 100_000)
        #expect(parseFailure(text) == Failure("Nesting deeper than 512 levels", offset: 512, column: 513))
        #expect(
            parseFailure(text + String(repeating: "]", count: 100_000))
                == Failure("Nesting deeper than 512 levels", offset: 512, column: 513)
        )
        #expect(
            parseFailure(text, options: .lenientConfig)
                == Failure("Nesting deeper than 512 levels", offset: 512, column: 513)
        )
    }

    @Test func deepObjectsAndMixedNestingFailCleanly() {
        #expect(
            parseFailure(String(repeating: #"{"a":"#, count: 100_000))
                == Failure("Nesting deeper than 512 levels", offset: 2_560, column: 2_561)
        )
        // Each `[{"a":` opens two levels, so level 513 is the `[` of the 257th repetition.
        #expect(
            parseFailure(String(repeating: #"[{"a":"#, count: 100_000))
                == Failure("Nesting deeper than 512 levels", offset: 1_536, column: 1_537)
        )
    }

    @Test func exactlyMaxDepthParses() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(nestingDepth(try JSON.parse(deepest)) == 512)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(parseFailure(tooDeep) == Failure("Nesting deeper than 512 levels", offset: 512, column: 513))
    }

    @Test func customMaxDepth() throws {
        let three = JSONParseOptions(maxDepth: 3)
        #expect(nestingDepth(try JSON.parse(#"[{"a":[]}]"#, options: three)) == 3)
        #expect(
            parseFailure(#"[{"a":[[]]}]"#, options: three)
                == Failure("Nesting deeper than 3 levels", offset: 7, column: 8)
        )
        let zero = JSONParseOptions(maxDepth: 0)
        #expect(try JSON.parse("1", options: zero) == .int(1))
        #expect(try JSON.parse(#""s""#, options: zero) == .string("s"))
        #expect(parseFailure("[]", options: zero) == Failure("Nesting deeper than 0 levels", offset: 0, column: 1))
        #expect(parseFailure("{}", options: zero) == Failure("Nesting deeper than 0 levels", offset: 0, column: 1))
    }

    @Test func depthIsPerPathNotPerDocument() throws {
        // Many siblings, each shallow: only nesting counts.
        let siblings = "[" + Array(repeating: #"[{"a":[1]}]"#, count: 20_000).joined(separator: ",") + "]"
        let value = try JSON.parse(siblings, options: JSONParseOptions(maxDepth: 4))
        #expect(value.arrayValue?.count == 20_000)
        #expect(value[19_999]?[0]?["a"]?[0]?.intValue == 1)
    }
}
