import Logging
import MCPClient
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import MCPOHTTP

/// `HTTPConnectionHandler` in NIO's testing channel, behind the same pipeline the proxy builds, on a loop whose time
/// the test moves.
@Suite("client connections")
struct ConnectionHandlerTests {
    struct Responder: RequestResponder {
        var maxBodyBytes = 64
        let answer: @Sendable (ProxyRequest) async -> ProxyResponse

        func respond(to request: ProxyRequest) async -> ProxyResponse { await answer(request) }

        func bodyTooLarge(_ request: ProxyRequest) -> ProxyResponse {
            CallFailure.bodyTooLarge(limit: maxBodyBytes).response
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "connection-test")
        logger.logLevel = .critical
        return logger
    }()

    static let limits = ConnectionDeadlines.Limits(head: .seconds(30), body: .seconds(30), idle: .seconds(75))

    /// A connected channel with the proxy's pipeline in front of `responder`.
    private func connection(_ responder: Responder) async throws -> (NIOAsyncTestingChannel, NIOAsyncTestingEventLoop) {
        let loop = NIOAsyncTestingEventLoop()
        let channel = NIOAsyncTestingChannel(loop: loop)
        let logger = Self.logger
        let sweeper = ConnectionSweepers().sweeper(for: loop)
        try await loop.executeInContext {
            let handler = HTTPConnectionHandler(
                responder: responder, limits: Self.limits, sweeper: sweeper,
                report: BoundsReport(limits: Self.limits, logger: logger), logger: logger)
            try channel.pipeline.syncOperations.addHandler(RequestBytesObserver(connection: handler))
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true, withErrorHandling: true, withOutboundHeaderValidation: false)
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).get()
        return (channel, loop)
    }

    private func send(_ text: String, to channel: NIOAsyncTestingChannel) async throws {
        try await channel.writeInbound(ByteBuffer(string: text))
    }

    /// The bytes written for one whole answer (an answer of known length leaves in one flush).
    private func answer(from channel: NIOAsyncTestingChannel, headOnly: Bool = false) async throws -> String {
        var text = ""
        while !text.contains("\r\n\r\n") || !(headOnly || Self.complete(text)) {
            let data = try await channel.waitForOutboundWrite(as: IOData.self)
            guard case .byteBuffer(let buffer) = data else { continue }
            text += String(buffer: buffer)
        }
        return text
    }

    /// Whether `text` holds a head and the body its `Content-Length` announces (or the last chunk).
    private static func complete(_ text: String) -> Bool {
        guard let split = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<split.lowerBound].lowercased()
        let body = text[split.upperBound...]
        if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            return body.utf8.count >= length
        }
        return body.hasSuffix("0\r\n\r\n")
    }

    private static let hello = Responder { _ in ProxyResponse.text(status: .ok, "hello") }

    @Test("a request is answered with Content-Length, Date and Server; a keep-alive connection takes the next")
    func keepAlive() async throws {
        let (channel, _) = try await connection(Self.hello)
        try await send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        let first = try await answer(from: channel)
        #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(first.contains("Content-Length: 5\r\n"))
        #expect(first.contains("Server: swift-mcpo\r\n"))
        #expect(first.contains("Date: "))
        #expect(!first.lowercased().contains("connection: close"))
        #expect(first.hasSuffix("\r\n\r\nhello"))
        try await send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        #expect(try await answer(from: channel).hasSuffix("hello"))
        #expect(channel.isActive)
    }

    @Test("Connection: close is answered with it, and the connection closes after the answer")
    func close() async throws {
        let (channel, _) = try await connection(Self.hello)
        try await send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", to: channel)
        #expect(try await answer(from: channel).contains("Connection: close\r\n"))
        try await channel.closeFuture.get()
    }

    @Test("HEAD gets the head of the GET answer and no body; Expect: 100-continue is answered at once")
    func headAndContinue() async throws {
        let seen = Mutex<[String]>([])
        let (channel, _) = try await connection(
            Responder { request in
                seen.withLock { $0.append(String(buffer: request.body)) }
                return .text(status: .ok, "hello")
            })
        try await send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        let head = try await answer(from: channel, headOnly: true)
        #expect(head.contains("Content-Length: 5\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
        try await send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", to: channel)
        let proceed = try await channel.waitForOutboundWrite(as: IOData.self)
        guard case .byteBuffer(let buffer) = proceed else { throw CancellationError() }
        #expect(String(buffer: buffer).hasPrefix("HTTP/1.1 100 Continue"))
        try await send("ok", to: channel)
        _ = try await answer(from: channel)
        #expect(seen.withLock { $0 } == ["", "ok"])
    }

    @Test("a body over the limit is answered 413 without reaching the responder, and the connection goes on")
    func bodyTooLarge() async throws {
        let reached = Mutex(0)
        let (channel, _) = try await connection(
            Responder { _ in
                reached.withLock { $0 += 1 }
                return .text(status: .ok, "hello")
            })
        let body = String(repeating: "x", count: 100)
        try await send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + body, to: channel)
        let refused = try await answer(from: channel)
        #expect(refused.hasPrefix("HTTP/1.1 413 Payload Too Large"))
        #expect(refused.hasSuffix(#"{"detail":"The request body is larger than the limit of 64 bytes"}"#))
        try await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        #expect(try await answer(from: channel).hasSuffix("hello"))
        #expect(reached.withLock { $0 } == 1)
    }

    @Test("a stream is sent chunk by chunk as it is made")
    func stream() async throws {
        let (chunks, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
        let (channel, _) = try await connection(
            Responder { _ in
                ProxyResponse(status: .ok, headers: ["Content-Type": "text/event-stream"], body: .stream(chunks))
            })
        try await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        let head = try await channel.waitForOutboundWrite(as: IOData.self)
        guard case .byteBuffer(let headBytes) = head else { throw CancellationError() }
        #expect(String(buffer: headBytes).lowercased().contains("transfer-encoding: chunked"))
        feed.yield(ByteBuffer(string: "event: a\n\n"))
        var sent = ""
        while !sent.contains("event: a") {
            guard case .byteBuffer(let bytes) = try await channel.waitForOutboundWrite(as: IOData.self) else {
                continue
            }
            sent += String(buffer: bytes)
        }
        feed.finish()
        while !sent.hasSuffix("0\r\n\r\n") {
            guard case .byteBuffer(let bytes) = try await channel.waitForOutboundWrite(as: IOData.self) else {
                continue
            }
            sent += String(buffer: bytes)
        }
        #expect(channel.isActive)
    }

    @Test("a head sent one byte every 5 s is closed at the head bound, counted from its first byte")
    func slowHead() async throws {
        let (channel, loop) = try await connection(Self.hello)
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for index in 0..<6 {  // bytes at 0, 5, … 25 s
            if index > 0 { await loop.advanceTime(by: .seconds(5)) }
            try await send(String(request[index]), to: channel)
        }
        await loop.advanceTime(by: .seconds(4))
        #expect(channel.isActive, "29 s after the first byte")
        await loop.advanceTime(by: .seconds(2))
        try await channel.closeFuture.get()
    }

    @Test("a connection that sends nothing is closed at the head bound")
    func silent() async throws {
        let (channel, loop) = try await connection(Self.hello)
        await loop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        await loop.advanceTime(by: .seconds(2))
        try await channel.closeFuture.get()
    }

    @Test("a body that stops coming is closed at the body bound, counted from its last byte")
    func stalledBody() async throws {
        let (channel, loop) = try await connection(Self.hello)
        try await send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab", to: channel)
        await loop.advanceTime(by: .seconds(20))
        try await send("cd", to: channel)
        await loop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        await loop.advanceTime(by: .seconds(2))
        try await channel.closeFuture.get()
    }

    @Test("an idle kept-alive connection closes at the idle bound; one used within it stays")
    func idle() async throws {
        let (channel, loop) = try await connection(Self.hello)
        try await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        _ = try await answer(from: channel)
        await loop.advanceTime(by: .seconds(70))
        try await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        _ = try await answer(from: channel)
        await loop.advanceTime(by: .seconds(70))
        #expect(channel.isActive, "the second request started the idle time again")
        await loop.advanceTime(by: .seconds(6))
        try await channel.closeFuture.get()
    }

    @Test("a request being answered is bounded by its call, not by the connection's bounds")
    func longCall() async throws {
        let release = CallCancellation()
        let (channel, loop) = try await connection(
            Responder { _ in
                await release.wait()
                return .text(status: .ok, "late")
            })
        try await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        await loop.advanceTime(by: .seconds(3600))
        #expect(channel.isActive)
        release.cancel()
        #expect(try await answer(from: channel).hasSuffix("late"))
    }

    @Test("a client that closes its side cancels what it waits for")
    func clientLeaves() async throws {
        let left = Mutex(false)
        let (channel, _) = try await connection(
            Responder { request in
                await request.connection.clientLeft.wait()
                left.withLock { $0 = true }
                return .text(status: .ok, "gone")
            })
        try await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        _ = try await answer(from: channel)
        #expect(left.withLock { $0 })
        try await channel.closeFuture.get()
    }

    @Test("a client that closes its side between requests has its connection closed at once")
    func clientClosesWhileIdle() async throws {
        let (channel, _) = try await connection(Self.hello)
        try await send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        _ = try await answer(from: channel)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        try await channel.closeFuture.get()
    }
}
