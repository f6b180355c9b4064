import NIOCore
import Testing

@testable import MCPClient

@Suite("SSE parser")
struct SSEParserTests {
    private func parse(_ chunks: [String]) -> (events: [SSEParser.Event], parser: SSEParser) {
        var parser = SSEParser()
        var events: [SSEParser.Event] = []
        for chunk in chunks {
            // The limit is far above these inputs.
            events += (try? parser.feed(Array(chunk.utf8))) ?? []
        }
        return (events, parser)
    }

    @Test("a message event with the default type")
    func defaultType() {
        let (events, _) = parse(["data: {\"a\":1}\n\n"])
        #expect(events == [SSEParser.Event(type: "message", data: Array(#"{"a":1}"#.utf8), lastEventID: nil)])
    }

    @Test("named events, and the type resets after each event")
    func eventField() {
        let (events, _) = parse(["event: endpoint\ndata: /messages?x=1\n\ndata: next\n\n"])
        #expect(events.map(\.type) == ["endpoint", "message"])
        #expect(events[0].text == "/messages?x=1")
    }

    @Test("multi-line data joins with LF, and only one leading space is dropped")
    func multiLineData() {
        let (events, _) = parse(["data: first\ndata:second\ndata:  third\n\n"])
        #expect(events.first?.text == "first\nsecond\n third")
    }

    @Test("LF, CR and CRLF all end lines, also when a CRLF is split between chunks")
    func lineEndings() {
        #expect(parse(["data: a\r\n\r\n"]).events.map(\.text) == ["a"])
        #expect(parse(["data: a\r\r"]).events.map(\.text) == ["a"])
        #expect(parse(["data: a\r", "\n\r", "\n"]).events.map(\.text) == ["a"])
        #expect(parse(["data: a\r", "\ndata: b\r\n\r\n"]).events.map(\.text) == ["a\nb"])
    }

    @Test("byte by byte gives the same events as one chunk")
    func byteByByte() {
        let stream = "id: 7\nevent: message\ndata: {\"x\":\"ü\"}\n\n: comment\ndata: two\n\n"
        let whole = parse([stream]).events
        let pieces = parse(stream.utf8.map { String(decoding: [$0], as: UTF8.self) }).events
        // Splitting a multi-byte character into separate Strings mangles it; compare the ASCII event.
        #expect(whole.count == 2)
        #expect(pieces.count == 2)
        #expect(pieces[1] == whole[1])
        var parser = SSEParser()
        var bytewise: [SSEParser.Event] = []
        for byte in Array(stream.utf8) { bytewise += (try? parser.feed([byte])) ?? [] }
        #expect(bytewise == whole)
    }

    @Test("comments are ignored, and so are unknown fields")
    func comments() {
        let (events, _) = parse([": keep-alive\n\n:another\nfoo: bar\ndata: x\n\n"])
        #expect(events.map(\.text) == ["x"])
    }

    @Test("an event without data is not dispatched, an empty data line is")
    func emptyData() {
        #expect(parse(["event: ping\n\n"]).events.isEmpty)
        let primed = parse(["id: 1\ndata:\n\n"])
        #expect(primed.events == [SSEParser.Event(type: "message", data: [], lastEventID: "1")])
    }

    @Test("the id persists across events, a NUL id is ignored, and an empty id clears it")
    func ids() {
        let (events, parser) = parse(["id: a\ndata: 1\n\ndata: 2\n\nid: b\u{0}c\ndata: 3\n\nid\ndata: 4\n\n"])
        #expect(events.map(\.lastEventID) == ["a", "a", "a", ""])
        #expect(parser.lastEventID == "")
    }

    @Test("retry takes digits only")
    func retry() {
        #expect(parse(["retry: 2500\n\n"]).parser.retryMilliseconds == 2500)
        #expect(parse(["retry: 25x\n\n"]).parser.retryMilliseconds == nil)
        #expect(parse(["retry: 100\nretry: soon\n\n"]).parser.retryMilliseconds == 100)
    }

    @Test("a field without a colon is a field with an empty value")
    func fieldWithoutColon() {
        let (events, _) = parse(["data\ndata\n\n"])
        #expect(events.first?.text == "\n")
    }

    @Test("a leading byte order mark is skipped")
    func byteOrderMark() {
        let (events, _) = parse(["\u{FEFF}data: x\n\n"])
        #expect(events.map(\.text) == ["x"])
    }

    @Test("an unterminated event at the end of the stream is not dispatched")
    func unterminated() {
        #expect(parse(["data: partial\n"]).events.isEmpty)
    }

    @Test("an event over the size limit is an error, not unbounded memory")
    func sizeLimit() {
        var parser = SSEParser(maxEventBytes: 16)
        #expect(throws: SSEParser.EventTooLarge.self) {
            _ = try parser.feed(Array("data: \(String(repeating: "x", count: 64))".utf8))
        }
    }

    @Test("ByteBuffer input")
    func byteBuffer() throws {
        var parser = SSEParser()
        let events = try parser.feed(ByteBuffer(string: "data: buffered\n\n"))
        #expect(events.map(\.text) == ["buffered"])
    }
}
