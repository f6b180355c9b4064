import NIOCore

/// Receives what a transport reads. Called on the transport's event loop: must not block.
public protocol TransportReceiver: AnyObject, Sendable {
    /// One JSON-RPC message, exactly as the server wrote it.
    func receive(message: ByteBuffer)
    /// The transport ended for good; called at most once.
    func transportClosed(reason: String)
    /// Whether the request with this id still waits for its response (HTTP transports resume a broken
    /// response stream only while it does).
    func isAwaitingResponse(to id: Int) -> Bool
    /// A message too large to accept was dropped; `prefix` is its beginning (it usually names the id).
    func droppedOversizedMessage(prefix: ByteBuffer, limit: Int)
}

/// One JSON-RPC message on its way to the server, with what HTTP transports mirror into headers.
public struct OutboundMessage: Sendable {
    public enum Kind: Sendable, Equatable {
        case request(id: Int)
        case notification
        /// Our answer to a request the server sent.
        case response
    }

    public var kind: Kind
    /// The JSON-RPC method (nil for responses).
    public var method: String?
    /// `params.name` or `params.uri` of `tools/call`, `prompts/get` and `resources/read` (`Mcp-Name`).
    public var name: String?
    /// Extra headers for this message only (`Mcp-Param-*` of tools that declare `x-mcp-header`).
    public var headers: [(name: String, value: String)]
    /// The serialized message.
    public var body: ByteBuffer

    public init(
        kind: Kind, method: String?, name: String? = nil, headers: [(name: String, value: String)] = [],
        body: ByteBuffer
    ) {
        self.kind = kind
        self.method = method
        self.name = name
        self.headers = headers
        self.body = body
    }

    public var requestID: Int? {
        if case .request(let id) = kind { return id }
        return nil
    }
}

/// What a caller that gave up on a request still owes the server.
public enum AbandonedRequestSignal: Sendable {
    /// Send `notifications/cancelled` (stdio, legacy SSE, stateful streamable HTTP).
    case notifyServer
    /// Nothing: the transport closed the request's response stream, which is the cancellation
    /// (stateless streamable HTTP, 2026-07-28).
    case handledByTransport
}

/// Moves JSON-RPC messages between the proxy and one upstream server.
public protocol MCPTransport: Sendable {
    /// Delivers one message. For a request over HTTP the future completes when its response has been
    /// read (or fails with the reason it cannot arrive); for stdio, once it is written.
    func send(_ message: OutboundMessage) -> EventLoopFuture<Void>
    /// The caller stopped waiting for request `id` (timeout or cancellation).
    func abandonRequest(id: Int) -> AbandonedRequestSignal
    /// Ends the transport and releases what it holds (for stdio: the child and its process group).
    func shutdown() async
}

extension MCPTransport {
    public func abandonRequest(id: Int) -> AbandonedRequestSignal { .notifyServer }
}
