import NIOCore
import NIOHTTP1

/// Writes one answer to its connection with `Content-Length` (known length), `Date`, `Server` and, when the
/// connection ends with it, `Connection: close`.
///
/// A body of known length leaves in one go (head, body and end together); a stream sends its head at once and each
/// chunk as it comes, each awaited so a slow client holds the producer back.
enum AnswerWriter {
    static func write(_ response: ProxyResponse, keepAlive: Bool, omitBody: Bool, on channel: any Channel) async {
        var headers = response.headers
        headers.add(name: "Date", value: HTTPDate.now())
        headers.add(name: "Server", value: "swift-mcpo")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        switch response.body {
        case .bytes(let buffer):
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
            await writeWhole(head, body: omitBody ? nil : buffer, closing: !keepAlive, on: channel)
        case .stream(let chunks):
            let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
            do {
                try await channel.writeAndFlush(HTTPServerResponsePart.head(head)).get()
                if !omitBody {
                    for await chunk in chunks {
                        try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(chunk))).get()
                    }
                }
                try await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
                if !keepAlive { channel.close(promise: nil) }
            } catch {
                channel.close(promise: nil)
            }
        }
    }

    private static func writeWhole(
        _ head: HTTPResponseHead, body: ByteBuffer?, closing: Bool, on channel: any Channel
    ) async {
        let writeAll: @Sendable () -> EventLoopFuture<Void>? = {
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            if let body, body.readableBytes > 0 {
                channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
            }
            let end = HTTPServerResponsePart.end(nil)
            // The common case leaves without waiting for the write: the next answer on this connection queues behind
            // it in order, and one whose predecessor is still queued (the client reads slowly) waits below.
            if !closing, channel.isWritable {
                channel.writeAndFlush(end, promise: nil)
                return nil
            }
            return channel.writeAndFlush(end)
        }
        let pending: EventLoopFuture<Void>?
        if channel.eventLoop.inEventLoop {
            pending = writeAll()
        } else {
            pending = try? await channel.eventLoop.submit(writeAll).get()
        }
        guard let pending else { return }
        do {
            try await pending.get()
            if closing { channel.close(promise: nil) }
        } catch {
            channel.close(promise: nil)
        }
    }
}
