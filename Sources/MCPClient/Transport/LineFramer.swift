import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Splits a byte stream into newline-terminated lines (a trailing CR is dropped).
///
/// A line longer than `maxLength` is discarded up to its newline and reported once, so a server that
/// writes an endless line cannot exhaust memory.
struct LineFramer: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let maxLength: Int
    /// Called once per dropped line with its first bytes.
    let onOversizedLine: @Sendable (ByteBuffer) -> Void
    private var discarding = false
    private var scanned = 0

    init(maxLength: Int, onOversizedLine: @escaping @Sendable (ByteBuffer) -> Void) {
        self.maxLength = maxLength
        self.onOversizedLine = onOversizedLine
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let start = scanned
        let newline: Int? = buffer.withUnsafeReadableBytes { bytes in
            guard start < bytes.count, let base = bytes.baseAddress else { return nil }
            guard let found = memchr(base + start, 0x0A, bytes.count - start) else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
        guard let newline else {
            scanned = buffer.readableBytes
            if buffer.readableBytes > maxLength {
                if !discarding { onOversizedLine(Self.prefix(of: buffer)) }
                discarding = true
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                scanned = 0
            }
            return .needMoreData
        }
        scanned = 0
        // The newline was found inside the readable bytes, so the slice exists.
        var line = buffer.readSlice(length: newline)!
        buffer.moveReaderIndex(forwardBy: 1)
        if discarding {
            discarding = false
            return .continue
        }
        if line.readableBytes > maxLength {
            onOversizedLine(Self.prefix(of: line))
            return .continue
        }
        if line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == 0x0D {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        if line.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(line))
        }
        return .continue
    }

    private static func prefix(of buffer: ByteBuffer) -> ByteBuffer {
        buffer.getSlice(at: buffer.readerIndex, length: min(256, buffer.readableBytes)) ?? ByteBuffer()
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        // A final message without its newline still counts.
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0, !discarding, buffer.readableBytes <= maxLength {
            let line = buffer.readSlice(length: buffer.readableBytes)!  // length is the readable count
            context.fireChannelRead(wrapInboundOut(line))
        }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}

/// Hands each framed line to a closure and reports the end of the stream.
final class LineHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let onLine: @Sendable (ByteBuffer) -> Void
    private let onEnd: @Sendable () -> Void

    init(onLine: @escaping @Sendable (ByteBuffer) -> Void, onEnd: @escaping @Sendable () -> Void) {
        self.onLine = onLine
        self.onEnd = onEnd
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onLine(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        onEnd()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
