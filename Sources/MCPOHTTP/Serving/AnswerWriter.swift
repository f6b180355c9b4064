import NIOCore
import NIOHTTP1

/// Writes one answer to its connection with `Content-Length` (known length), `Date`, `Server` and, when the
/// connection ends with it, `Connection: close`.
///
/// A body of known length leaves in one go (head, body and end together); a stream sends its head at once and each
/// chunk as it comes, each awaited so a slow client holds the producer back.
enum AnswerWriter {
    /// `sent` runs on the channel's loop as the answer's end is handed to the connection, and says whether the
    /// connection must end with it.
    static func write(
        _ response: ProxyResponse, keepAlive: Bool, omitBody: Bool, on channel: any Channel,
        sent: @escaping @Sendable () -> Bool
    ) async {
        var headers = response.headers
        headers.add(name: "Date", value: HTTPDate.now())
        headers.add(name: "Server", value: "swift-mcpo")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        switch response.body {
        case .bytes(let buffer):
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
            await writeWhole(head, body: omitBody ? nil : buffer, closing: !keepAlive, on: channel, sent: sent)
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
                let ending = try await channel.eventLoop.submit(sent).get()
                if !keepAlive || ending { channel.close(promise: nil) }
            } catch {
                channel.close(promise: nil)
            }
        }
    }

    private static func writeWhole(
        _ head: HTTPResponseHead, body: ByteBuffer?, closing keepAliveEnds: Bool, on channel: any Channel,
        sent: @escaping @Sendable () -> Bool
    ) async {
        let writeAll: @Sendable () -> (EventLoopFuture<Void>, closing: Bool)? = {
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            if let body, body.readableBytes > 0 {
                channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
            }
            let end = HTTPServerResponsePart.end(nil)
            let closing = sent() || keepAliveEnds
            // The common case leaves without waiting for the write: the next answer on this connection queues behind
            // it in order, and one whose predecessor is still queued (the client reads slowly) waits below.
            if !closing, channel.isWritable {
                channel.writeAndFlush(end, promise: nil)
                return nil
            }
            return (channel.writeAndFlush(end), closing)
        }
        let pending: (EventLoopFuture<Void>, closing: Bool)?
        if channel.eventLoop.inEventLoop {
            pending = writeAll()
        } else {
            pending = try? await channel.eventLoop.submit(writeAll).get()
        }
        guard let (written, closing) = pending else { return }
        do {
            try await written.get()
            if closing { channel.close(promise: nil) }
        } catch {
            channel.close(promise: nil)
        }
    }
}
