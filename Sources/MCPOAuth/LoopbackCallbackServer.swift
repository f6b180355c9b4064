import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP listener on the loopback interface for the OAuth redirect (`http://localhost:<port>/callback`).
///
/// `GET /callback?…` hands the query to `handler` and answers its HTML page; anything else is 404 (405 for
/// other methods). One request per connection (`Connection: close`), each bounded in time, so stopping never
/// waits on a browser's idle keep-alive connection. Binds 127.0.0.1 and, when available, ::1 (browsers may
/// resolve `localhost` to either).
public final class LoopbackCallbackServer: Sendable {
    /// What the handler answers: an HTTP status and an HTML page.
    public struct Reply: Sendable {
        public var status: Int
        public var html: String

        public init(status: Int, html: String) {
            self.status = status
            self.html = html
        }
    }

    public typealias Handler = @Sendable (_ query: String) async -> Reply

    public let port: Int
    public let path: String
    private let channels: [NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>]
    private let tasks = Mutex<[Task<Void, Never>]>([])

    private init(
        port: Int, path: String,
        channels: [NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>]
    ) {
        self.port = port
        self.path = path
        self.channels = channels
    }

    /// Listens on 127.0.0.1:`port` (and [::1]:`port` when possible); returns once accepting connections.
    /// Throws when the IPv4 port cannot be bound (e.g. in use).
    public static func start(
        port: Int, path: String = "/callback", logger: Logger, handler: @escaping Handler
    ) async throws -> LoopbackCallbackServer {
        var channels = [try await bind(host: "127.0.0.1", port: port)]
        if let v6 = try? await bind(host: "::1", port: port) { channels.append(v6) }
        let server = LoopbackCallbackServer(port: port, path: path, channels: channels)
        let tasks = channels.map { channel in
            Task {
                await server.accept(on: channel, logger: logger, handler: handler)
            }
        }
        server.tasks.withLock { $0 = tasks }
        return server
    }

    private static func bind(host: String, port: Int) async throws
        -> NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: child)
                }
            }
    }

    private func accept(
        on channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        logger: Logger, handler: @escaping Handler
    ) async {
        let path = path
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask {
                            do {
                                try await withDeadline(.seconds(30)) {
                                    try await Self.serve(connection, path: path, handler: handler)
                                }
                            } catch {
                                logger.debug("OAuth callback connection ended", metadata: ["error": "\(error)"])
                                connection.channel.close(promise: nil)
                            }
                        }
                    }
                }
            }
        } catch {
            logger.debug("OAuth callback listener ended", metadata: ["error": "\(error)"])
        }
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, path: String,
        handler: @escaping Handler
    ) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                case .body:
                    continue
                case .end:
                    guard let head else { return }
                    let reply = await respond(to: head, path: path, handler: handler)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
                    headers.add(name: "Cache-Control", value: "no-store")
                    headers.add(name: "Referrer-Policy", value: "no-referrer")
                    headers.add(name: "X-Frame-Options", value: "DENY")
                    headers.add(name: "Content-Security-Policy", value: "default-src 'none'; style-src 'unsafe-inline'")
                    headers.add(name: "Connection", value: "close")
                    let body = ByteBuffer(string: reply.html)
                    headers.add(name: "Content-Length", value: String(body.readableBytes))
                    try await outbound.write(
                        .head(
                            HTTPResponseHead(
                                version: head.version, status: .init(statusCode: reply.status), headers: headers)))
                    try await outbound.write(.body(.byteBuffer(body)))
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }

    private static func respond(to head: HTTPRequestHead, path: String, handler: Handler) async -> Reply {
        let target = head.uri
        let requestPath = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target
        guard requestPath == path else {
            return Reply(status: 404, html: OAuthPages.page(title: "Not Found", heading: "Not Found", text: target))
        }
        guard head.method == .GET else {
            return Reply(
                status: 405, html: OAuthPages.page(title: "Method Not Allowed", heading: "Method Not Allowed", text: "")
            )
        }
        let query = target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } ?? ""
        return await handler(query)
    }

    /// Stops listening; returns when the listening sockets are closed. A connection being served finishes on
    /// its own (bounded by its 30 s limit), so a handler may call this for its own server.
    public func stop() async {
        for channel in channels {
            try? await channel.channel.close()
        }
    }

    /// Waits until the accept loops have ended (after `stop()`, once in-flight connections are done).
    public func waitUntilStopped() async {
        let tasks = self.tasks.withLock { $0 }
        for task in tasks { await task.value }
    }
}
