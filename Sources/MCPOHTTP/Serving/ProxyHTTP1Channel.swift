import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 connection setup, with our watch of the client and our head conversion.
///
/// Hummingbird's `HTTP1Channel` converts each request head with swift-nio-extras' `HTTP1ToHTTPServerCodec`,
/// which parses every request target with Foundation's `URLComponents` to cope with the absolute form
/// (`POST http://host/path`), a form clients only send to forward proxies. `RequestHeadConverter` reads the
/// usual origin form (`/path?query`) as it is.
struct ProxyHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // NIOAsyncChannel reads one request at a time
                withErrorHandling: false,  // handleHTTP answers parse errors
                withOutboundHeaderValidation: false,  // HTTPFields are valid by construction
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: NIOHTTPDecoderLimitConfiguration()
            )
            try channel.pipeline.syncOperations.addHandler(RequestHeadConverter())
            try channel.pipeline.syncOperations.addHandler(ClientConnectionWatch())
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

/// NIO's HTTP/1 parts to and from Swift HTTP Types' parts, as `HTTP1ToHTTPServerCodec` does.
final class RequestHeadConverter: ChannelDuplexHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct InvalidMethod: Error {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard let method = HTTPRequest.Method(head.method.rawValue) else {
                context.fireErrorCaught(InvalidMethod())
                return
            }
            let request = HTTPRequest(
                method: method, scheme: "http", authority: head.headers.first(name: "Host"),
                path: Self.requestPath(head.uri), headerFields: HTTPFields(head.headers, splitCookie: false))
            context.fireChannelRead(wrapInboundOut(.head(request)))
        case .body(let body):
            context.fireChannelRead(wrapInboundOut(.body(body)))
        case .end(let trailers):
            context.fireChannelRead(wrapInboundOut(.end(trailers.map { HTTPFields($0, splitCookie: false) })))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            context.write(wrapOutboundOut(.head(HTTPResponseHead(response))), promise: promise)
        case .body(let body):
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: promise)
        case .end(let trailers):
            context.write(wrapOutboundOut(.end(trailers.map(HTTPHeaders.init))), promise: promise)
        }
    }

    /// The origin form (`/path?query`) as it is; the absolute form (`http://host/path?query`) without its
    /// scheme and authority; anything else (`*`, an authority) unchanged.
    static func requestPath(_ target: String) -> String {
        let bytes = target.utf8
        guard bytes.first != UInt8(ascii: "/"), let schemeEnd = target.firstRange(ofBytes: "://") else { return target }
        let rest = target.utf8[schemeEnd.upperBound...]
        guard let pathStart = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
            return "/"
        }
        let path = String(Substring(target.utf8[pathStart...]))
        return path.utf8.first == UInt8(ascii: "?") ? "/" + path : path
    }
}

extension String {
    /// The first occurrence of an ASCII `needle`, compared byte by byte (no regex library, no Foundation).
    fileprivate func firstRange(ofBytes needle: StaticString) -> Range<String.Index>? {
        let haystack = utf8
        return needle.withUTF8Buffer { pattern -> Range<String.Index>? in
            var start = haystack.startIndex
            while start != haystack.endIndex {
                var candidate = start
                var matched = 0
                while matched < pattern.count, candidate != haystack.endIndex, haystack[candidate] == pattern[matched] {
                    matched += 1
                    candidate = haystack.index(after: candidate)
                }
                if matched == pattern.count { return start..<candidate }
                start = haystack.index(after: start)
            }
            return nil
        }
    }
}
