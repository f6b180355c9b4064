import NIOCore
import NIOHTTP1
import NIOPosix

/// Streamable HTTP on 127.0.0.1 with plain SwiftNIO HTTP/1.1 (keep-alive, no framework).
///
/// `POST /mcp` answers requests with `application/json` (never SSE) and notifications with 202; a
/// successful `initialize` gets an `Mcp-Session-Id`. `GET /mcp` is 405 (no server-to-client stream)
/// and `DELETE /mcp` 200. Sessions are not checked: every request is answered whatever its headers.
enum HTTPServer {
    static func run(port: Int, threads: Int) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MCPHTTPHandler())
                }
            }
        let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
        let bound = channel.localAddress?.port ?? port
        StandardError.emit("mcp-bench-server: streamable HTTP on http://127.0.0.1:\(bound)/mcp\n")
        try channel.closeFuture.wait()
    }
}

/// One connection: collects each request's body, then answers it.
private final class MCPHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var output: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = nil
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body?.writeBuffer(&part)
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            respond(to: requestHead, context: context)
            body = nil
        }
    }

    private func respond(to requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = requestHead.uri.split(separator: "?", maxSplits: 1).first ?? ""
        guard path == "/mcp" else {
            return send(.notFound, json: #"{"error":"not found"}"#, request: requestHead, context: context)
        }
        switch requestHead.method {
        case .POST:
            output.removeAll(keepingCapacity: true)
            let outcome: Outcome =
                body?.withUnsafeReadableBytes { Responder.handle($0, into: &output) }
                ?? Responder.handle(UnsafeRawBufferPointer(start: nil, count: 0), into: &output)
            switch outcome {
            case .silent:
                send(.accepted, json: nil, request: requestHead, context: context)
            case .answered(let opensSession):
                var buffer = context.channel.allocator.buffer(capacity: output.count)
                buffer.writeBytes(output)
                let session = opensSession ? String(UInt64.random(in: 1...UInt64.max), radix: 16) : nil
                send(.ok, body: buffer, session: session, request: requestHead, context: context)
            }
        case .DELETE:
            send(.ok, json: nil, request: requestHead, context: context)
        default:
            send(
                .methodNotAllowed, json: #"{"error":"method not allowed"}"#, request: requestHead, context: context,
                extraHeaders: [("Allow", "POST, DELETE")])
        }
    }

    private func send(
        _ status: HTTPResponseStatus, json: String?, request: HTTPRequestHead, context: ChannelHandlerContext,
        extraHeaders: [(String, String)] = []
    ) {
        var buffer = context.channel.allocator.buffer(capacity: json?.utf8.count ?? 0)
        if let json { buffer.writeString(json) }
        send(status, body: buffer, session: nil, request: request, context: context, extraHeaders: extraHeaders)
    }

    private func send(
        _ status: HTTPResponseStatus, body: ByteBuffer, session: String?, request: HTTPRequestHead,
        context: ChannelHandlerContext, extraHeaders: [(String, String)] = []
    ) {
        let keepAlive = request.isKeepAlive
        var headers = HTTPHeaders()
        if body.readableBytes > 0 { headers.add(name: "Content-Type", value: "application/json") }
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if let session { headers.add(name: "Mcp-Session-Id", value: session) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
