import JSONValue
import MCPBridge
import NIOCore
import NIOHTTP1

/// One answer, as routes and stages make it and the connection handler writes it.
///
/// The connection handler adds `Content-Length` (for bytes), `Date`, `Server` and, when the connection closes
/// after it, `Connection: close`; nothing else sets them.
struct ProxyResponse: Sendable {
    enum Body: Sendable {
        /// A body of known length, sent in one write with the head.
        case bytes(ByteBuffer)
        /// A body made while it is sent (`text/event-stream`): each chunk is written as it comes, with back-pressure.
        case stream(AsyncStream<ByteBuffer>)
    }

    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: Body

    init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: Body = .bytes(ByteBuffer())) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer.
    static func json(_ answer: HTTPAnswer, headers: HTTPHeaders = [:]) -> ProxyResponse {
        json(status: answer.status, bytes: answer.body.bytes, headers: headers)
    }

    static func json(status: Int, bytes: [UInt8], headers: HTTPHeaders = [:]) -> ProxyResponse {
        var fields = headers
        // Room for the headers the answer gets on its way out (`X-Request-Id`, `Date`, `Server`, `Content-Length`,
        // `Connection`): one allocation instead of one each time the list doubles.
        fields.reserveCapacity(headers.count + 6)
        fields.add(name: "Content-Type", value: "application/json")
        return ProxyResponse(
            status: HTTPResponseStatus(statusCode: status), headers: fields, body: .bytes(ByteBuffer(bytes: bytes)))
    }

    /// An HTML page that must not be cached (OAuth pages).
    static func html(status: Int, _ page: String, headers: HTTPHeaders = [:]) -> ProxyResponse {
        var fields = headers
        fields.add(name: "Content-Type", value: "text/html; charset=utf-8")
        fields.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return ProxyResponse(
            status: HTTPResponseStatus(statusCode: status), headers: fields, body: .bytes(ByteBuffer(string: page)))
    }

    /// A plain text answer.
    static func text(status: HTTPResponseStatus, _ text: String, headers: HTTPHeaders = [:]) -> ProxyResponse {
        var fields = headers
        fields.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8")
        return ProxyResponse(status: status, headers: fields, body: .bytes(ByteBuffer(string: text)))
    }

    /// The body's bytes when they are known (tests and logs read them).
    var bytes: ByteBuffer? {
        if case .bytes(let buffer) = body { return buffer }
        return nil
    }
}
