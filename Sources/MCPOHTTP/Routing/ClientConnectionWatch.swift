import NIOCore
import Synchronization

/// Knows when an HTTP client has closed its side of the connection, so a call it no longer waits for can
/// be cancelled upstream.
///
/// Hummingbird keeps half-closed connections open (the channel stays active while the response is being
/// made), so `Channel.isActive` does not tell; the end of the client's input does. One watch is added to
/// every connection's pipeline and found again through its channel.
final class ClientConnectionWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = Any

    private static let watches = Mutex<[ObjectIdentifier: ClientConnectionWatch]>([:])
    private let gone = Atomic<Bool>(false)

    /// Whether the client behind `channel` has gone away.
    static func clientHasLeft(_ channel: any Channel) -> Bool {
        guard let watch = watches.withLock({ $0[ObjectIdentifier(channel)] }) else { return !channel.isActive }
        return watch.gone.load(ordering: .relaxed)
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
            gone.store(true, ordering: .relaxed)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone(context)
        context.fireChannelInactive()
    }

    private func markGone(_ context: ChannelHandlerContext) {
        gone.store(true, ordering: .relaxed)
        let key = ObjectIdentifier(context.channel)
        Self.watches.withLock { _ = $0.removeValue(forKey: key) }
    }
}
