import NIOCore
import NIOHTTP1

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

    private let maxBodyBytes: Int
    private let idleTimeout: TimeAmount
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

    init(maxBodyBytes: Int, idleTimeout: TimeAmount = defaultIdleTimeout) {
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeout = idleTimeout
    }

    var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        idleSince = context.eventLoop.now
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes the request; `promise` gets the answer.
    func start(
        _ head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, promise: EventLoopPromise<KeepAliveAnswer>
    ) {
        guard case .idle = state, let context, context.channel.isActive else {
            promise.fail(KeepAliveHTTPError.staleConnection)
            return
        }
        exchange += 1
        deadlinePassed = false
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
