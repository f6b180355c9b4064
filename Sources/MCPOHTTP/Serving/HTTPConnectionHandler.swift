import Logging
import MCPClient
import NIOCore
import NIOHTTP1

/// What answers the requests of a connection.
protocol RequestResponder: Sendable {
    /// The largest body a request may have; a larger one is answered by `bodyTooLarge` without being kept.
    var maxBodyBytes: Int { get }
    func respond(to request: ProxyRequest) async -> ProxyResponse
    func bodyTooLarge(_ request: ProxyRequest) -> ProxyResponse
}

/// One client connection: each request is gathered whole (its body bounded by `--max-body-size`), made into one
/// `ProxyRequest`, answered by the responder in a task and written back; the next request is read once the answer
/// is out (NIO's pipelining handler holds it meanwhile). The connection is closed when it breaks a bound
/// (`ConnectionDeadlines`): a head or a body that does not come, or a kept-alive connection left idle.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler, SweptConnection {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: any RequestResponder
    private let limits: ConnectionDeadlines.Limits
    private let sweeper: ConnectionSweeper?
    private let executor: LoopTaskExecutor?
    private let report: BoundsReport?
    private let logger: Logger
    private let clientLeft = CallCancellation()
    private var deadlines: ConnectionDeadlines?
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false
    /// The client closed its side: nothing more will come, so the connection closes once nothing is being answered.
    private var inputClosed = false

    init(
        responder: any RequestResponder, limits: ConnectionDeadlines.Limits, sweeper: ConnectionSweeper?,
        executor: LoopTaskExecutor? = nil, report: BoundsReport?, logger: Logger
    ) {
        self.responder = responder
        self.limits = limits
        self.sweeper = sweeper
        self.executor = executor
        self.report = report
        self.logger = logger
    }

    // MARK: - Lifetime

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        deadlines = ConnectionDeadlines(openedAt: context.eventLoop.now, limits: limits)
        sweeper?.add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweeper?.remove(self)
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        sweeper?.remove(self)
        clientLeft.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // With half-closure allowed, a client that leaves shows as the end of its input.
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            clientLeft.cancel()
            if deadlines?.phase != .answering { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("HTTP connection error: \(error)")
        context.close(promise: nil)
    }

    /// Bytes came in (reported by `RequestBytesObserver`, ahead of the HTTP parser).
    func bytesArrived() {
        guard let context else { return }
        deadlines?.bytesArrived(at: context.eventLoop.now)
    }

    func sweep(at now: NIODeadline) {
        guard let context, let bound = deadlines?.expired(at: now) else { return }
        sweeper?.remove(self)
        deadlines = nil
        let peer = context.channel.remoteAddress.map { "\($0)" } ?? "an unknown address"
        report?.closed(bound, peer: peer, on: context.eventLoop)
        clientLeft.cancel()
        context.close(promise: nil)
    }

    // MARK: - Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            deadlines?.headReceived(at: context.eventLoop.now)
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
            deadlines?.requestComplete()
            let request = ProxyRequest(
                method: head.method, target: head.uri, headers: head.headers, body: body ?? ByteBuffer(),
                connection: ClientConnection(eventLoop: context.eventLoop, clientLeft: clientLeft))
            body = nil
            Self.start(
                request, tooLarge: bodyTooLarge, keepAlive: head.isKeepAlive, responder: responder,
                executor: executor, channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        }
    }

    /// On the loop, as an answer's end is handed to the connection: the idle bound starts. True when the connection
    /// must end with this answer (the client has closed its side).
    func answerSent() -> Bool {
        guard let context else { return true }
        deadlines?.answerSent(at: context.eventLoop.now)
        return inputClosed
    }

    private static func start(
        _ request: ProxyRequest, tooLarge: Bool, keepAlive: Bool, responder: any RequestResponder,
        executor: LoopTaskExecutor?, channel: any Channel, handler: NIOLoopBound<HTTPConnectionHandler>
    ) {
        Task(executorPreference: executor) {
            let response = tooLarge ? responder.bodyTooLarge(request) : await responder.respond(to: request)
            await AnswerWriter.write(
                response, keepAlive: keepAlive, omitBody: request.method == .HEAD, on: channel,
                sent: { handler.value.answerSent() })
        }
    }
}

/// Sits ahead of the HTTP parser and tells the connection handler when bytes come in: the head bound starts with a
/// request's first byte, and a body read is any read.
final class RequestBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let connection: HTTPConnectionHandler

    init(connection: HTTPConnectionHandler) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.bytesArrived()
        context.fireChannelRead(data)
    }
}
