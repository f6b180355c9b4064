import NIOCore

/// Receives what a transport reads. Called on the transport's event loop: must not block.
public protocol TransportReceiver: AnyObject, Sendable {
    /// One JSON-RPC message, exactly as the server wrote it.
    func receive(message: ByteBuffer)
    /// The transport ended for good; called at most once.
    func transportClosed(reason: String)
}

/// Moves JSON-RPC messages between the proxy and one upstream server.
public protocol MCPTransport: Sendable {
    /// Queues one message; the future fails when it cannot be delivered.
    func send(_ message: ByteBuffer) -> EventLoopFuture<Void>
    /// Ends the transport and releases what it holds (for stdio: the child and its process group).
    func shutdown() async
}
