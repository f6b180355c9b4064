import JSONValue
import Testing

@Suite("Strings")
struct StringTests {
    @Test func everySimpleEscape() throws {
        let value = try JSON.parse(#""\"\\\/\b\f\n\r\t""#)
        #expect(value.stringValue.map { Array($0.utf8) } == [0x22, 0x5C, 0x2F, 0x08, 0x0C, 0x0A, 0x0D, 0x09])
        // Written back with the short escapes, and `/` bare.
        #expect(value.text == #""\"\\/\b\f\n\r\t""#)
    }

    @Test func escapesBetweenPlainText() throws {
        #expect(try JSON.parse(#""a\nb\tc\\d""#) == .string("a\nb\tc\\d"))
        #expect(try JSON.parse(#"["x\"y", "\/\/"]"#) == .array([.string("x\"y"), .string("//")]))
        #expect(try JSON.parse(#"{"k\u0065y":"v"}"#)["key"] == .string("v"))
    }

    @Test(
        "Unicode escapes, surrogate pairs and lone surrogates",
        arguments: [
            (#""\u0041""#, "A"),
            (#""a\u0062c""#, "abc"),
            (#""\u00e9""#, "é"),
            (#""\u00E9""#, "é"),
            (#""\u20ac""#, "€"),
            (#""\uFFFF""#, "\u{FFFF}"),
            (#""\u0000""#, "\u{0}"),
            (#""\ud83d\ude00""#, "😀"),
            (#""\uD83D\uDE00""#, "😀"),
            (#""\uD834\uDD1E!""#, "𝄞!"),
            (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
            (#""\uD800""#, "\u{FFFD}"),
            (#""\uDC00""#, "\u{FFFD}"),
            (#""\uD800x""#, "\u{FFFD}x"),
            (#""\uD800\u0041""#, "\u{FFFD}A"),
            (#""\uD800\n""#, "\u{FFFD}\n"),
            (#""\uD800\uD83D\uDE00""#, "\u{FFFD}😀"),
            (#""\uDE00\uD83D""#, "\u{FFFD}\u{FFFD}"),
            (#""\uD83D\uDE00\uDE00""#, "😀\u{FFFD}"),
        ] as [(String, String)]
    )
    func unicodeEscape(_ text: String, _ expected: String) throws {
        let parsed = try JSON.parse(text).stringValue
        #expect(parsed.map { Array($0.unicodeScalars) } == Array(expected.unicodeScalars))
    }

    @Test func nonASCIIPassesThroughUnescaped() throws {
        let content = "héllo ключ 日本語 😀 e\u{301} \u{2028}"
        let text = #"{"ключ":""# + content + #""}"#
        let value = try JSON.parse(text)
        #expect(value["ключ"]?.stringValue.map { Array($0.utf8) } == Array(content.utf8))
        #expect(value.bytes == Array(text.utf8))
        #expect(JSON.string("日本").bytes == [0x22, 0xE6, 0x97, 0xA5, 0xE6, 0x9C, 0xAC, 0x22])
    }

    @Test func nonASCIIAfterAnEscapeIsKept() throws {
        let value = try JSON.parse(#""\n日本😀""#)
        #expect(value.stringValue.map { Array($0.utf8) } == Array("\n日本😀".utf8))
    }

    @Test func invalidUTF8BecomesReplacementCharacter() throws {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        #expect(try JSON.parse(bytes) == .string("a\u{FFFD}b"))
    }

    @Test func controlCharactersAreEscapedOnOutput() {
        #expect(JSON.string("\u{0}\u{1}\u{1F}").text == #""\u0000\u0001\u001f""#)
        #expect(JSON.string("\u{8}\u{C}\n\r\t").text == #""\b\f\n\r\t""#)
        #expect(JSON.string("\u{B}\u{1A}\u{1B}").text == #""\u000b\u001a\u001b""#)
        #expect(JSON.string("quote \" backslash \\").text == #""quote \" backslash \\""#)
        // DEL and U+0080 are not control characters in JSON.
        #expect(JSON.string("\u{7F}\u{80}").bytes == [0x22, 0x7F, 0xC2, 0x80, 0x22])
    }

    @Test func slashIsNotEscaped() {
        #expect(JSON.string("a/b</script>").text == #""a/b</script>""#)
        #expect(JSON.string("https://example.com/x").text == #""https://example.com/x""#)
    }

    @Test func everyControlCharacterRoundTrips() throws {
        let all = String(String.UnicodeScalarView((0..<0x20).compactMap { Unicode.Scalar($0) }))
        let written = JSON.string(all).text
        #expect(!written.utf8.contains { $0 < 0x20 })
        #expect(
            written == #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
                + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        )
        #expect(try JSON.parse(written).stringValue.map { Array($0.utf8) } == Array(all.utf8))
    }

    @Test func keysAreEscapedLikeValues() {
        let value: JSON = ["a\"b\n/": "c"]
        #expect(value.text == #"{"a\"b\n/":"c"}"#)
    }

    @Test func writeStringAppends() {
        var out = Array("x=".utf8)
        JSON.writeString("a\"b", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"x="a\"b""#)
    }
}
