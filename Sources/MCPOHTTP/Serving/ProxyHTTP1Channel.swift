import HTTPTypes
import HummingbirdCore
import Logging
import MCPBridge
import MCPClient
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// The client side of one HTTP connection, as the routes see it.
struct ClientConnection: Sendable {
    /// The connection's loop: work done there after the answer does not hold up the caller's next request.
    let eventLoop: any EventLoop
    /// Fires when the client closes its side of the connection: the calls it no longer waits for are cancelled
    /// upstream.
    let clientLeft: CallCancellation
}

/// HTTP/1.1 connections served by `HTTPConnectionHandler`, in Hummingbird's server (which binds, adds TLS in
/// front, and drains connections on a graceful shutdown).
///
/// Hummingbird's own `HTTP1Channel` hands each connection to a task that reads request parts from an
/// `NIOAsyncChannel` and writes answer parts back through it, converting every head with swift-nio-extras'
/// codec, which parses each request target with Foundation's `URLComponents`. Per request that machinery cost
/// more than the proxy's own work on a call; here a plain channel handler gathers the request and one task
/// per request answers it.
struct ProxyHTTP1Channel: ServerChildChannel {
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
    }

    let responder: ProxyResponder
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            // Pipelined requests wait in NIO's pipeline handler until the answer before them is written; parse
            // errors get NIO's 400 and a close. Answer headers are Swift HTTP Types' fields, valid by construction,
            // so NIO need not check them again.
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true, withErrorHandling: true, withOutboundHeaderValidation: false)
            try channel.pipeline.syncOperations.addHandler(
                HTTPConnectionHandler(responder: responder, logger: self.logger))
            return Connection(channel: channel)
        }
    }

    /// Keeps the server's count of open connections (a graceful shutdown waits for them) until this one closes.
    func handle(value connection: Connection, logger: Logger) async {
        await withTaskCancellationHandler {
            try? await connection.channel.closeFuture.get()
        } onCancel: {
            connection.channel.close(promise: nil)
        }
    }
}

/// One connection: each request is gathered whole (its body bounded by `--max-body-size`), answered by the
/// responder in a task, and written back with `Date` and `Server`; the next request is read once the answer
/// is out.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: ProxyResponder
    private let logger: Logger
    private let clientLeft = CallCancellation()
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false

    init(responder: ProxyResponder, logger: Logger) {
        self.responder = responder
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            bodyTooLarge = false
            // A client that asks first (curl does for a large body) would otherwise wait a second for this.
            if head.version.minor >= 1, head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                let proceed = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(proceed)), promise: nil)
            }
        case .body(var chunk):
            guard !bodyTooLarge else { return }
            let size = (body?.readableBytes ?? 0) + chunk.readableBytes
            if size > responder.maxBodyBytes {
                // Keep reading the rest, but not keep it: the answer is 413.
                bodyTooLarge = true
                body = nil
            } else if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)  // not nil: checked just above
            }
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, body: body ?? ByteBuffer(), bodyTooLarge: bodyTooLarge, context: context)
            body = nil
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // With half-closure allowed, a client that leaves shows as the end of its input.
        if let event = event as? ChannelEvent, event == .inputClosed { clientLeft.cancel() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientLeft.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("HTTP connection error: \(error)")
        context.close(promise: nil)
    }

    private func answer(_ head: HTTPRequestHead, body: ByteBuffer, bodyTooLarge: Bool, context: ChannelHandlerContext) {
        let channel = context.channel
        let connection = ClientConnection(eventLoop: channel.eventLoop, clientLeft: clientLeft)
        let request = PendingRequest(head: head, body: body, bodyTooLarge: bodyTooLarge)
        Self.start(request, responder, connection, channel)
    }

    private struct PendingRequest: Sendable {
        let head: HTTPRequestHead
        let body: ByteBuffer
        let bodyTooLarge: Bool
    }

    private static func start(
        _ request: PendingRequest, _ responder: ProxyResponder, _ connection: ClientConnection,
        _ channel: any Channel
    ) {
        Task { await serve(request, responder, connection, channel) }
    }

    private static func serve(
        _ pending: PendingRequest, _ responder: ProxyResponder, _ connection: ClientConnection, _ channel: any Channel
    ) async {
        let head = pending.head
        guard let method = HTTPRequest.Method(head.method.rawValue) else {
            let refusal = JSONResponse.answer(HTTPAnswer(status: 400, body: ["detail": "Invalid HTTP method"]))
            await write(refusal, keepAlive: false, on: channel)
            return
        }
        let request = Request(
            head: HTTPRequest(
                method: method, scheme: "http", authority: head.headers.first(name: "Host"),
                path: requestPath(head.uri), headerFields: HTTPFields(head.headers, splitCookie: false)),
            body: RequestBody(buffer: pending.body))
        let response =
            pending.bodyTooLarge
            ? responder.bodyTooLarge(request)
            : await responder.respond(to: request, connection: connection)
        await write(response, keepAlive: head.isKeepAlive, on: channel)
    }

    /// Writes the answer; one whose length is known leaves in a single write, a stream (`text/event-stream`)
    /// chunk by chunk as it is made, each awaited so a slow client holds the producer back.
    private static func write(_ response: Response, keepAlive: Bool, on channel: any Channel) async {
        // The routes set neither `Date` nor `Server` nor `Connection`; the body's length, when known, is the length.
        let contentLength = response.body.contentLength
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 4)
        for field in response.headers where contentLength == nil || field.name != .contentLength {
            headers.add(name: field.name.rawName, value: field.value)
        }
        if let contentLength { headers.add(name: "Content-Length", value: String(contentLength)) }
        headers.add(name: "Date", value: HTTPDate.now())
        headers.add(name: "Server", value: "swift-mcpo")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status.code, reasonPhrase: response.status.reasonPhrase)
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        let writer = AnswerWriter(channel: channel, head: head, contentLength: contentLength, closing: !keepAlive)
        do {
            try await response.body.write(writer)
        } catch {
            channel.close(promise: nil)
        }
    }

    /// The origin form (`/path?query`) as it is; the absolute form (`http://host/path?query`) without its
    /// scheme and authority; anything else (`*`, an authority) unchanged.
    static func requestPath(_ target: String) -> String {
        let bytes = target.utf8
        guard bytes.first != UInt8(ascii: "/"), let schemeEnd = target.firstRange(ofBytes: "://") else { return target }
        let rest = target.utf8[schemeEnd.upperBound...]
        guard let pathStart = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
            return "/"
        }
        let path = String(Substring(target.utf8[pathStart...]))
        return path.utf8.first == UInt8(ascii: "?") ? "/" + path : path
    }
}

/// Writes one answer's head and body to the channel. A body of known length is held until its end so head,
/// body and end leave together; a body of unknown length (a stream) sends the head at once and each chunk as
/// it comes. `head` carries the `Content-Length` when there is one; `closing`: the connection closes once the answer
/// is written.
struct AnswerWriter: ResponseBodyWriter {
    let channel: any Channel
    var head: HTTPResponseHead?
    let contentLength: Int?
    let closing: Bool
    var held: ByteBuffer?

    init(channel: any Channel, head: HTTPResponseHead, contentLength: Int?, closing: Bool) {
        self.channel = channel
        self.head = head
        self.contentLength = contentLength
        self.closing = closing
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        if contentLength != nil, head != nil {
            if var held {
                var more = buffer
                held.writeBuffer(&more)
                self.held = held
            } else {
                held = buffer
            }
            return
        }
        if let head {
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            self.head = nil
        }
        try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).get()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        if let head { channel.write(HTTPServerResponsePart.head(head), promise: nil) }
        if let held { channel.write(HTTPServerResponsePart.body(.byteBuffer(held)), promise: nil) }
        let end = HTTPServerResponsePart.end(trailingHeaders.map(HTTPHeaders.init))
        // The common case leaves without waiting for the write: the next answer on this connection queues behind it
        // in order, and one whose predecessor is still queued (the client reads slowly) waits below.
        if !closing, channel.isWritable {
            channel.writeAndFlush(end, promise: nil)
            return
        }
        try await channel.writeAndFlush(end).get()
        if closing { channel.close(promise: nil) }
    }
}

extension String {
    /// The first occurrence of an ASCII `needle`, compared byte by byte (no regex library, no Foundation).
    fileprivate func firstRange(ofBytes needle: StaticString) -> Range<String.Index>? {
        let haystack = utf8
        return needle.withUTF8Buffer { pattern -> Range<String.Index>? in
            var start = haystack.startIndex
            while start != haystack.endIndex {
                var candidate = start
                var matched = 0
                while matched < pattern.count, candidate != haystack.endIndex, haystack[candidate] == pattern[matched] {
                    matched += 1
                    candidate = haystack.index(after: candidate)
                }
                if matched == pattern.count { return start..<candidate }
                start = haystack.index(after: start)
            }
            return nil
        }
    }
}
