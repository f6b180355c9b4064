import MCPClient
import NIOCore
import Synchronization

/// Knows when an HTTP client has closed its side of the connection, so the calls it no longer waits for are
/// cancelled upstream.
///
/// Hummingbird keeps half-closed connections open (the channel stays active while the response is being
/// made), so `Channel.isActive` does not tell; the end of the client's input does. One watch is added to
/// every connection's pipeline and found again through its channel. The calls of a connection share its
/// `CallCancellation`, which the watch fires: nothing polls, and a call that ends normally costs nothing.
final class ClientConnectionWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = Any

    private static let watches = Mutex<[ObjectIdentifier: ClientConnectionWatch]>([:])
    private let clientLeft = CallCancellation()

    /// Fires when the client behind `channel` goes away (already fired when it has).
    static func cancellation(of channel: any Channel) -> CallCancellation {
        if let watch = watches.withLock({ $0[ObjectIdentifier(channel)] }) { return watch.clientLeft }
        let cancellation = CallCancellation()
        if !channel.isActive { cancellation.cancel() }
        return cancellation
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let key = ObjectIdentifier(context.channel)
        Self.watches.withLock { $0[key] = self }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        markGone(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            clientLeft.cancel()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone(context)
        context.fireChannelInactive()
    }

    private func markGone(_ context: ChannelHandlerContext) {
        clientLeft.cancel()
        let key = ObjectIdentifier(context.channel)
        Self.watches.withLock { _ = $0.removeValue(forKey: key) }
    }
}
