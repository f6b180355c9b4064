import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import MCPClient

/// The stdio line framer in NIO's embedded channel.
@Suite("stdio line framing")
struct LineFramerTests {
    final class Dropped: Sendable {
        private let lines = Mutex<[String]>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    private func framer(maxLength: Int = 16) throws -> (EmbeddedChannel, Dropped) {
        let dropped = Dropped()
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(
                LineFramer(maxLength: maxLength) { prefix in dropped.add(String(buffer: prefix)) }))
        return (channel, dropped)
    }

    private func lines(_ channel: EmbeddedChannel) throws -> [String] {
        var lines: [String] = []
        while let line = try channel.readInbound(as: ByteBuffer.self) { lines.append(String(buffer: line)) }
        return lines
    }

    @Test("lines split wherever the chunks end; a CR before the newline and empty lines are dropped")
    func splitting() throws {
        let (channel, _) = try framer()
        try channel.writeInbound(ByteBuffer(string: "{\"a\":"))
        #expect(try lines(channel).isEmpty)
        try channel.writeInbound(ByteBuffer(string: "1}\r\n\n{\"b\":2}\n{\"c"))
        #expect(try lines(channel) == [#"{"a":1}"#, #"{"b":2}"#])
        try channel.writeInbound(ByteBuffer(string: "\":3}\n"))
        #expect(try lines(channel) == [#"{"c":3}"#])
    }

    @Test("a line over the limit is dropped and reported once, with its beginning; the next line is delivered")
    func oversized() throws {
        let (channel, dropped) = try framer()
        try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 20)))
        try channel.writeInbound(ByteBuffer(string: String(repeating: "y", count: 20)))
        try channel.writeInbound(ByteBuffer(string: "z\n{\"ok\":true}\n"))
        #expect(try lines(channel) == [#"{"ok":true}"#])
        #expect(dropped.all.count == 1)
        #expect(dropped.all.first?.hasPrefix("xxxx") == true)
        try channel.writeInbound(ByteBuffer(string: String(repeating: "w", count: 17) + "\n"))
        #expect(try lines(channel).isEmpty)
        #expect(dropped.all.count == 2, "a whole line over the limit is reported too")
    }

    @Test("a last line without its newline still counts at the end of the stream")
    func lastLine() throws {
        let (channel, _) = try framer()
        try channel.writeInbound(ByteBuffer(string: "{\"end\":1}"))
        #expect(try lines(channel).isEmpty)
        _ = try channel.finish()
        #expect(try lines(channel) == [#"{"end":1}"#])
    }
}
