import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP/1.1 server on 127.0.0.1 that answers every request `{}` and keeps the connection open, until the test
/// closes its connections (as a server does with idle ones when its keep-alive ends). It runs on a thread of its
/// own, so it closes them while the client's event loop is held.
final class ClosingHTTPServer: Sendable {
    /// What the server's connections share.
    final class Record: Sendable {
        let connections = Mutex<[any Channel]>([])
        let requests = Mutex(0)
    }

    private let group: MultiThreadedEventLoopGroup
    private let listener: any Channel
    private let record: Record

    var port: Int { listener.localAddress?.port ?? 0 }

    /// The requests the server has read: one the client wrote on a connection the server had closed is not among
    /// them.
    var requestsRead: Int { record.requests.withLock { $0 } }

    private init(group: MultiThreadedEventLoopGroup, listener: any Channel, record: Record) {
        self.group = group
        self.listener = listener
        self.record = record
    }

    static func start() async throws -> ClosingHTTPServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let record = Record()
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                record.connections.withLock { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answerer(record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ClosingHTTPServer(group: group, listener: listener, record: record)
    }

    /// Closes every connection the server accepted; the future completes once their sockets are closed.
    func closeConnections() -> EventLoopFuture<Void> {
        let open = record.connections.withLock { channels in
            defer { channels.removeAll() }
            return channels
        }
        return EventLoopFuture.andAllComplete(open.map { $0.close() }, on: group.next())
    }

    func stop() async {
        try? await closeConnections().get()
        try? await listener.close()
        try? await group.shutdownGracefully()
    }

    /// Counts a request once its head is read, and answers it when it is complete.
    private final class Answerer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let record: Record

        init(record: Record) {
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head:
                record.requests.withLock { $0 += 1 }
            case .body:
                break
            case .end:
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "2")
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "{}")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
