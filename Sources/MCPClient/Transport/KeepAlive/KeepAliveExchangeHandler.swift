import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Why an exchange on a keep-alive connection failed.
enum KeepAliveHTTPError: Error, Equatable, CustomStringConvertible {
    /// The pooled connection had closed before anything was written: the request can go on another one.
    case staleConnection
    /// The connection closed (or could not be written) before any of the answer arrived.
    case closedBeforeAnswer
    /// The connection closed in the middle of the answer.
    case closedMidAnswer
    /// The answer's body was larger than the limit.
    case bodyTooLarge(limit: Int)
    /// The deadline passed before the answer was complete.
    case deadlineExceeded

    var description: String {
        switch self {
        case .staleConnection: "the pooled connection had closed"
        case .closedBeforeAnswer: "the server closed the connection before answering"
        case .closedMidAnswer: "the server closed the connection in the middle of its answer"
        case .bodyTooLarge(let limit): "the answer is larger than \(limit) bytes"
        case .deadlineExceeded: "no complete answer in time"
        }
    }
}

/// An answer: a JSON (or any non-SSE) body is collected on the event loop and the answer given once it is
/// complete (one wake-up for the caller); an SSE answer is given with its head, and its body streamed with
/// back-pressure.
struct KeepAliveAnswer: Sendable {
    enum Body: Sendable {
        case complete(ByteBuffer)
        case streamed(KeepAliveBodyStream, KeepAliveStreamDelegate)
    }
    let head: HTTPResponseHead
    let body: Body
}

typealias KeepAliveBodyStream = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, KeepAliveStreamDelegate
>

/// Resumes reading when the SSE consumer wants more, and closes the connection when it stops listening before
/// the body ended (an unfinished body cannot be followed by another request), unless it left the rest of the
/// stream to be drained.
struct KeepAliveStreamDelegate: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<KeepAliveExchangeHandler>
    let exchange: Int

    /// The consumer has what it wanted: the rest of the body is read and discarded, so the connection can serve
    /// another request if the body ends soon (a server closes a request's stream right after its answer).
    func leave() {
        handler.eventLoop.execute { handler.value.drainRest(exchange: exchange) }
    }

    func produceMore() {
        handler.eventLoop.execute { handler.value.resumeReading(exchange: exchange) }
    }

    func didTerminate() {
        handler.eventLoop.execute { handler.value.consumerLeft(exchange: exchange) }
    }
}

/// One request at a time on one HTTP/1.1 connection; between requests the connection waits in the pool.
///
/// Every method runs on the channel's event loop.
final class KeepAliveExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        case idle
        /// The kernel is asked whether the server closed the connection while it was idle; nothing written yet.
        case checking(EventLoopPromise<KeepAliveAnswer>)
        case awaitingHead(EventLoopPromise<KeepAliveAnswer>)
        case collecting(EventLoopPromise<KeepAliveAnswer>, HTTPResponseHead, ByteBuffer)
        case streaming(KeepAliveBodyStream.Source, keepAlive: Bool)
        case draining(keepAlive: Bool)
        case closed
    }

    /// Called when an exchange ended and the connection may serve the next one.
    var onIdle: (() -> Void)?
    /// How long an idle connection stays open: below the 5 s keep-alive of uvicorn and Node, so the server
    /// rarely closes a connection just as a request goes out on it.
    static let defaultIdleTimeout = TimeAmount.seconds(4)
    /// How long the rest of a left stream may take to end before the connection is closed instead.
    static let drainTimeout = TimeAmount.seconds(1)
    /// How long a connection must have been idle for the kernel to be asked, before a request is written on it,
    /// whether the server has closed it. The event loop learns of a close only when it next reads; a busy or
    /// descheduled loop can start a request first, on a connection that cannot carry it, and the request is then lost
    /// (whether the server read it cannot be known from here, so it cannot be sent again). The kernel knows as soon as
    /// the server's FIN arrives. Servers close idle connections after seconds; a connection reused sooner than this
    /// (the hot path of many calls) is not asked, which saves a system call per request.
    static let defaultCloseCheckAge = TimeAmount.milliseconds(100)

    private let maxBodyBytes: Int
    private let idleTimeout: TimeAmount
    private let closeCheckAge: TimeAmount
    /// The socket under the connection; nil for a channel that is not one (the tests' embedded channel).
    private var socket: (any SocketOptionProvider)?
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var exchange = 0
    private var readsPaused = false
    private var readPending = false
    /// Armed while the connection is open, for `idleSince + idleTimeout`; an exchange that starts meanwhile does not
    /// cancel it (a timer per exchange costs more than the exchange's own work), the timer looks again when it fires.
    private var idleTimer: Scheduled<Void>?
    private var idleSince = NIODeadline.uptimeNanoseconds(0)
    private var deadlineTimer: Scheduled<Void>?
    private var deadlinePassed = false

    init(
        maxBodyBytes: Int, idleTimeout: TimeAmount = defaultIdleTimeout,
        closeCheckAge: TimeAmount = defaultCloseCheckAge
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeout = idleTimeout
        self.closeCheckAge = closeCheckAge
    }

    var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        socket = context.channel as? any SocketOptionProvider
        idleSince = context.eventLoop.now
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes the request; `promise` gets the answer. On a connection that served a request before and has been idle
    /// for `closeCheckAge`, only once the kernel says the server has not closed it: if it has, `promise` fails with
    /// `staleConnection` and nothing is written (the server closed before the request existed, so it cannot have
    /// read it).
    func start(
        _ head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<KeepAliveAnswer>
    ) {
        guard case .idle = state, let context, context.channel.isActive else {
            promise.fail(KeepAliveHTTPError.staleConnection)
            return
        }
        exchange += 1
        deadlinePassed = false
        // A new connection's first request is not checked: a close then is the server's answer to it.
        guard exchange > 1, let socket, context.eventLoop.now - idleSince >= closeCheckAge else {
            write(head, body: body, deadline: deadline, promise: promise, context: context)
            return
        }
        state = .checking(promise)
        let asked = Self.askWhetherClosedByPeer(socket) { [self, exchange] closed in
            guard exchange == self.exchange, case .checking = state, let context = self.context else { return }
            if closed {
                fail(KeepAliveHTTPError.staleConnection, context: context)
            } else {
                write(head, body: body, deadline: deadline, promise: promise, context: context)
            }
        }
        if !asked { write(head, body: body, deadline: deadline, promise: promise, context: context) }
    }

    /// Calls `answer` on the socket's event loop (from which this is called) with whether the peer's FIN or RST has
    /// reached the kernel (the connection is no longer established; an error asking counts as closed); false, and
    /// `answer` is not called, where the kernel cannot be asked.
    static func askWhetherClosedByPeer(_ socket: any SocketOptionProvider, _ answer: @escaping (Bool) -> Void) -> Bool {
        #if os(Linux) || os(Android)
            socket.getTCPInfo().assumeIsolated().whenComplete { info in
                answer((try? info.get().tcpi_state) != UInt8(TCP_ESTABLISHED))
            }
            return true
        #elseif canImport(Darwin)
            // TCPS_ESTABLISHED of <netinet/tcp_fsm.h>.
            let established: UInt8 = 4
            socket.getTCPConnectionInfo().assumeIsolated().whenComplete { info in
                answer((try? info.get().tcpi_state) != established)
            }
            return true
        #else
            return false
        #endif
    }

    private func write(
        _ head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<KeepAliveAnswer>,
        context: ChannelHandlerContext
    ) {
        state = .awaitingHead(promise)
        if deadline != .distantFuture {
            deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
                self?.deadlinePassed = true
                self?.context?.close(promise: nil)
            }
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .awaitingHead(let promise)):
            // 1xx answers (100 Continue) are not the answer.
            guard head.status.code >= 200 else { return }
            let keepAlive = head.isKeepAlive
            if Self.isEventStream(head) {
                let delegate = KeepAliveStreamDelegate(
                    handler: NIOLoopBound(self, eventLoop: context.eventLoop), exchange: exchange)
                let sequence = KeepAliveBodyStream.makeSequence(
                    backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false,
                    delegate: delegate)
                state = .streaming(sequence.source, keepAlive: keepAlive)
                promise.succeed(
                    KeepAliveAnswer(head: head, body: .streamed(sequence.sequence, delegate)))
            } else {
                state = .collecting(promise, head, context.channel.allocator.buffer(capacity: 0))
            }
        case (.body(var chunk), .collecting(let promise, let head, var collected)):
            guard collected.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                fail(KeepAliveHTTPError.bodyTooLarge(limit: maxBodyBytes), context: context)
                return
            }
            state = .idle  // lets `collected` be extended without a copy
            if collected.readableBytes == 0 {
                collected = chunk
            } else {
                collected.writeBuffer(&chunk)
            }
            state = .collecting(promise, head, collected)
        case (.body(let chunk), .streaming(let source, _)):
            if source.yield(chunk) == .stopProducing { readsPaused = true }
        case (.body, .draining):
            break
        case (.end, .draining(let keepAlive)):
            finishExchange(keepAlive: keepAlive, context: context)
        case (.end, .collecting(let promise, let head, let collected)):
            finishExchange(keepAlive: head.isKeepAlive, context: context)
            promise.succeed(KeepAliveAnswer(head: head, body: .complete(collected)))
        case (.end, .streaming(let source, let keepAlive)):
            finishExchange(keepAlive: keepAlive, context: context)
            source.finish()
        default:
            // Bytes nobody asked for: the connection cannot be trusted with another request.
            fail(KeepAliveHTTPError.closedMidAnswer, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(KeepAliveHTTPError.closedMidAnswer, context: context)
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    // MARK: The SSE consumer

    func resumeReading(exchange: Int) {
        guard exchange == self.exchange, readsPaused else { return }
        readsPaused = false
        if readPending {
            readPending = false
            context?.read()
        }
    }

    func drainRest(exchange: Int) {
        guard exchange == self.exchange, case .streaming(let source, let keepAlive) = state, let context else { return }
        state = .draining(keepAlive: keepAlive)
        source.finish()
        deadlineTimer?.cancel()
        deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.drainTimeout) { [weak self] in
            self?.context?.close(promise: nil)
        }
        resumeReading(exchange: exchange)
    }

    func consumerLeft(exchange: Int) {
        guard exchange == self.exchange, case .streaming = state else { return }
        context?.close(promise: nil)
    }

    // MARK: -

    private func finishExchange(keepAlive: Bool, context: ChannelHandlerContext) {
        deadlineTimer?.cancel()
        deadlineTimer = nil
        readsPaused = false
        state = .idle
        guard keepAlive else {
            state = .closed
            context.close(promise: nil)
            return
        }
        idleSince = context.eventLoop.now
        if idleTimer == nil { armIdleTimer(context: context) }
        onIdle?()
    }

    private func armIdleTimer(context: ChannelHandlerContext) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: idleSince + idleTimeout) {
            [weak self] in
            guard let self else { return }
            self.idleTimer = nil
            // Busy: the exchange's end arms it again.
            guard self.isIdle, let context = self.context else { return }
            if context.eventLoop.now >= self.idleSince + self.idleTimeout {
                context.close(promise: nil)
            } else {
                self.armIdleTimer(context: context)
            }
        }
    }

    /// Ends the exchange in progress with `error` (the deadline's own error if it closed the connection) and
    /// closes the connection.
    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        let reported: any Error = deadlinePassed ? KeepAliveHTTPError.deadlineExceeded : error
        deadlineTimer?.cancel()
        deadlineTimer = nil
        idleTimer?.cancel()
        idleTimer = nil
        let previous = state
        state = .closed
        switch previous {
        case .checking(let promise):
            // Nothing was written: the request can go on another connection.
            promise.fail(KeepAliveHTTPError.staleConnection)
        case .awaitingHead(let promise):
            promise.fail(
                (reported as? KeepAliveHTTPError) == .closedMidAnswer ? KeepAliveHTTPError.closedBeforeAnswer : reported
            )
        case .collecting(let promise, _, _):
            promise.fail(reported)
        case .streaming(let source, _):
            source.finish(reported)
        case .idle, .draining, .closed:
            break
        }
        if context.channel.isActive { context.close(promise: nil) }
    }

    private static func isEventStream(_ head: HTTPResponseHead) -> Bool {
        HTTPExchange.mediaType(head.headers) == "text/event-stream"
    }

}
