import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An HTTP answer from an upstream server, whichever client fetched it.
struct UpstreamAnswer: Sendable {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    /// Where the answer came from after redirects (nil when no redirect was followed).
    let url: URL?
    let body: UpstreamBody

    init(_ response: HTTPClientResponse) {
        status = response.status
        headers = response.headers
        url = response.url
        body = UpstreamBody(.asyncHTTPClient(response.body))
    }

    init(_ answer: KeepAliveAnswer) {
        status = answer.head.status
        headers = answer.head.headers
        url = nil
        switch answer.body {
        case .complete(let buffer): body = UpstreamBody(.complete(buffer))
        case .streamed(let stream, let delegate): body = UpstreamBody(.streamed(stream, delegate))
        }
    }

    var isRedirect: Bool {
        [.movedPermanently, .found, .seeOther, .temporaryRedirect, .permanentRedirect].contains(status)
    }
}

/// The body of an `UpstreamAnswer`: chunks as they arrive, or all of it at once.
struct UpstreamBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    fileprivate enum Source: Sendable {
        case asyncHTTPClient(HTTPClientResponse.Body)
        case complete(ByteBuffer)
        case streamed(KeepAliveBodyStream, KeepAliveStreamDelegate)
    }

    private let source: Source

    fileprivate init(_ source: Source) {
        self.source = source
    }

    /// The whole body; throws when it is larger than `limit`.
    func collect(upTo limit: Int) async throws -> ByteBuffer {
        switch source {
        case .asyncHTTPClient(let body):
            return try await body.collect(upTo: limit)
        case .complete(let body):
            guard body.readableBytes <= limit else { throw KeepAliveHTTPError.bodyTooLarge(limit: limit) }
            return body
        case .streamed(let stream, _):
            var collected = ByteBuffer()
            for try await var chunk in stream {
                guard collected.readableBytes + chunk.readableBytes <= limit else {
                    throw KeepAliveHTTPError.bodyTooLarge(limit: limit)
                }
                collected.writeBuffer(&chunk)
            }
            return collected
        }
    }

    /// The reader has what it wanted from a stream: the rest is discarded, and the connection serves again if
    /// the stream ends soon. (Dropping the body without this closes the connection: that is how a request is
    /// abandoned.)
    func leave() {
        if case .streamed(_, let delegate) = source { delegate.leave() }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate enum Position {
            case asyncHTTPClient(HTTPClientResponse.Body.AsyncIterator)
            case complete(ByteBuffer)
            case streamed(KeepAliveBodyStream.AsyncIterator)
            case finished
        }

        fileprivate var position: Position

        mutating func next() async throws -> ByteBuffer? {
            switch position {
            case .asyncHTTPClient(var iterator):
                let chunk = try await iterator.next()
                position = .asyncHTTPClient(iterator)
                return chunk
            case .complete(let body):
                position = .finished
                return body
            case .streamed(let iterator):
                return try await iterator.next()
            case .finished:
                return nil
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .asyncHTTPClient(let body): AsyncIterator(position: .asyncHTTPClient(body.makeAsyncIterator()))
        case .complete(let body): AsyncIterator(position: .complete(body))
        case .streamed(let stream, _): AsyncIterator(position: .streamed(stream.makeAsyncIterator()))
        }
    }
}
