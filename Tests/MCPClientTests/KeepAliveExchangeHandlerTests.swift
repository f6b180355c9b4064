import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import MCPClient

/// The keep-alive exchange handler in NIO's embedded channel, behind the HTTP client codec it runs with: the
/// server's bytes are written in by the test, and time is moved by the test.
@Suite("keep-alive exchanges")
struct KeepAliveExchangeHandlerTests {
    final class Connection {
        let channel = EmbeddedChannel()
        let handler = KeepAliveExchangeHandler(maxBodyBytes: 64)
        var idled = 0

        init() throws {
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
            handler.onIdle = { [unowned self] in idled += 1 }
        }

        var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

        /// Starts a POST; returns its future answer.
        func post(_ body: String = "{}", deadline: NIODeadline = .distantFuture) -> EventLoopFuture<KeepAliveAnswer> {
            let promise = loop.makePromise(of: KeepAliveAnswer.self)
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/mcp")
            head.headers.add(name: "Content-Length", value: String(body.utf8.count))
            handler.start(head, body: ByteBuffer(string: body), deadline: deadline, promise: promise)
            return promise.futureResult
        }

        /// What the handler wrote, as text.
        func written() throws -> String {
            var text = ""
            while let data = try channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
            }
            return text
        }

        func serverSends(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        var isOpen: Bool { channel.isActive }
    }

    /// The outcome of a future of the embedded loop, if it has one yet (the loop runs in the test's thread).
    private static func result<T: Sendable>(_ future: EventLoopFuture<T>) -> Result<T, any Error>? {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        future.whenComplete { result in outcome.withLock { $0 = result } }
        return outcome.withLock { $0 }
    }

    private static func body(_ answer: KeepAliveAnswer) -> String? {
        if case .complete(let buffer) = answer.body { return String(buffer: buffer) }
        return nil
    }

    @Test("a JSON answer is handed over whole, once complete; the connection is then idle for the next")
    func jsonAnswer() throws {
        let connection = try Connection()
        let answer = connection.post(#"{"a":1}"#)
        #expect(try connection.written().hasSuffix(#"{"a":1}"#))
        try connection.serverSends(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"b\"")
        #expect(Self.result(answer) == nil, "not before the body is complete")
        try connection.serverSends(":2}")
        let received = try #require(try Self.result(answer)?.get())
        #expect(received.head.status == .ok)
        #expect(Self.body(received) == #"{"b":2}"#)
        #expect(connection.idled == 1)
        #expect(connection.handler.isIdle)
        let next = connection.post()
        try connection.serverSends("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        #expect(Self.body(try #require(try Self.result(next)?.get())) == "{}")
    }

    @Test("interim 1xx answers are not the answer")
    func interim() throws {
        let connection = try Connection()
        let answer = connection.post()
        try connection.serverSends("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        #expect(try Self.result(answer)?.get().head.status == .accepted)
    }

    @Test("an SSE answer is handed over with its head and its body streamed")
    func eventStream() async throws {
        let connection = try Connection()
        let answer = connection.post()
        try connection.serverSends(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        let received = try #require(try Self.result(answer)?.get())
        guard case .streamed(let stream, _) = received.body else {
            Issue.record("an event stream is streamed")
            return
        }
        try connection.serverSends("7\r\ndata: 1\r\n0\r\n\r\n")
        var text = ""
        for try await chunk in stream { text += String(buffer: chunk) }
        #expect(text == "data: 1")
        #expect(connection.idled == 1)
    }

    @Test("Connection: close ends the connection after the answer; it is never idle")
    func closeAfter() throws {
        let connection = try Connection()
        let answer = connection.post()
        try connection.serverSends("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
        #expect(Self.body(try #require(try Self.result(answer)?.get())) == "{}")
        #expect(connection.idled == 0)
        #expect(!connection.isOpen)
    }

    @Test("the server closing before or during the answer fails it as such")
    func closedByServer() throws {
        let before = try Connection()
        let unanswered = before.post()
        before.channel.pipeline.fireChannelInactive()
        #expect(throws: KeepAliveHTTPError.closedBeforeAnswer) { try Self.result(unanswered)?.get() }
        let during = try Connection()
        let cut = during.post()
        try during.serverSends("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"")
        during.channel.pipeline.fireChannelInactive()
        // The parser reports the body cut short (HTTPParserError) before the handler hears of the close.
        #expect(throws: (any Error).self) { try Self.result(cut)?.get() }
        #expect(!during.isOpen)
    }

    @Test("an answer over the limit fails and closes the connection")
    func tooLarge() throws {
        let connection = try Connection()
        let answer = connection.post()
        try connection.serverSends(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 100))
        #expect(throws: KeepAliveHTTPError.bodyTooLarge(limit: 64)) { try Self.result(answer)?.get() }
        #expect(!connection.isOpen)
    }

    @Test("a connection busy with an exchange refuses another (it is stale for the pool)")
    func busy() throws {
        let connection = try Connection()
        _ = connection.post()
        #expect(throws: KeepAliveHTTPError.staleConnection) { try Self.result(connection.post())?.get() }
    }

    @Test("bytes nobody asked for make the connection untrustworthy: it closes")
    func unsolicited() throws {
        let connection = try Connection()
        try? connection.serverSends("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(!connection.isOpen)
    }

    @Test("a deadline that passes fails the exchange as such and closes the connection")
    func deadline() throws {
        let connection = try Connection()
        let answer = connection.post(deadline: connection.loop.now + .seconds(5))
        connection.loop.advanceTime(by: .seconds(5))
        #expect(throws: KeepAliveHTTPError.deadlineExceeded) { try Self.result(answer)?.get() }
        #expect(!connection.isOpen)
    }

    @Test("an idle connection closes after the idle timeout, counted from its last exchange; one used within it stays")
    func idleTimeout() throws {
        let connection = try Connection()
        let timeout = KeepAliveExchangeHandler.defaultIdleTimeout
        let first = connection.post()
        try connection.serverSends("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        #expect(Self.result(first) != nil)
        // Three exchanges half a timeout apart span more than a timeout, each within the timeout of the last.
        for _ in 0..<3 {
            connection.loop.advanceTime(by: .nanoseconds(timeout.nanoseconds / 2))
            #expect(connection.isOpen)
            let next = connection.post()
            try connection.serverSends("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            #expect(Self.result(next) != nil)
        }
        connection.loop.advanceTime(by: .nanoseconds(timeout.nanoseconds - 1))
        #expect(connection.isOpen)
        connection.loop.advanceTime(by: .nanoseconds(1))
        #expect(!connection.isOpen)
    }
}
