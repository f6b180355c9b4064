import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// HTTP/1.1 connections served by `HTTPConnectionHandler`, in Hummingbird's server (which binds, adds TLS in
/// front, bounds the connections open at once and drains them on a graceful shutdown).
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

    let responder: any RequestResponder
    let limits: ConnectionDeadlines.Limits
    let sweepers: ConnectionSweepers
    let executors: LoopTaskExecutors
    let report: BoundsReport
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            let handler = HTTPConnectionHandler(
                responder: responder, limits: limits, sweeper: sweepers.sweeper(for: channel.eventLoop),
                executor: executors.executor(for: channel.eventLoop), report: report, logger: self.logger)
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(RequestBytesObserver(connection: handler))
            // Pipelined requests wait in NIO's pipeline handler until the answer before them is written; parse
            // errors get NIO's 400 and a close. Answer headers are set by the proxy alone, so NIO need not check them.
            try operations.configureHTTPServerPipeline(
                withPipeliningAssistance: true, withErrorHandling: true, withOutboundHeaderValidation: false)
            try operations.addHandler(handler)
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

/// `--max-connections`: beyond it the server stops accepting (new connections wait in the kernel's backlog) until
/// one closes; the ones open keep working. Reaching the cap is logged once, and leaving it too.
struct ConnectionCap: AvailableConnectionsDelegate {
    let maximum: Int
    let logger: Logger
    private var open = 0
    private var atCap = false

    init(maximum: Int, logger: Logger) {
        self.maximum = max(1, maximum)
        self.logger = logger
    }

    mutating func connectionOpened() {
        open += 1
        if open >= maximum, !atCap {
            atCap = true
            logger.warning(
                "\(open) client connections are open, the most --max-connections allows: new connections wait until one closes"
            )
        }
    }

    mutating func connectionClosed() {
        open -= 1
        if atCap, open < maximum {
            atCap = false
            logger.info("client connections below --max-connections (\(maximum)) again: accepting new ones")
        }
    }

    func isAcceptingNewConnections() -> Bool {
        open < maximum
    }
}
