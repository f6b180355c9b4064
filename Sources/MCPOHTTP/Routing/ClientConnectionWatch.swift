import NIOCore
import Synchronization

/// Knows when an HTTP client has closed its side of the connection, so a call it no longer waits for can
/// be cancelled upstream.
///
/// Hummingbird keeps half-closed connections open (the channel stays active while the response is being
/// made), so `Channel.isActive` does not tell; the end of the client's input does. One watch is added to
/// every connection's pipeline and found again through its channel. Calls register what to do when the
/// client leaves instead of polling, so a call that ends normally pays two short locks and no timer.
final class ClientConnectionWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = Any
    typealias LeaveAction = @Sendable () -> Void

    private struct State {
        var gone = false
        var nextID = 0
        var actions: [Int: LeaveAction] = [:]
    }

    private static let watches = Mutex<[ObjectIdentifier: ClientConnectionWatch]>([:])
    private let state = Mutex(State())

    /// Whether the client behind `channel` has gone away.
    static func clientHasLeft(_ channel: any Channel) -> Bool {
        guard let watch = watch(of: channel) else { return !channel.isActive }
        return watch.state.withLock { $0.gone }
    }

    /// Runs `action` once when the client behind `channel` goes away, at once if it has already; until
    /// `LeaveRegistration.withdraw()` is called.
    static func whenClientLeaves(_ channel: any Channel, _ action: @escaping LeaveAction) -> LeaveRegistration {
        guard let watch = watch(of: channel) else {
            if !channel.isActive { action() }
            return LeaveRegistration(watch: nil, id: 0)
        }
        let id = watch.state.withLock { state -> Int? in
            guard !state.gone else { return nil }
            state.nextID += 1
            state.actions[state.nextID] = action
            return state.nextID
        }
        guard let id else {
            action()
            return LeaveRegistration(watch: nil, id: 0)
        }
        return LeaveRegistration(watch: watch, id: id)
    }

    private static func watch(of channel: any Channel) -> ClientConnectionWatch? {
        watches.withLock { $0[ObjectIdentifier(channel)] }
    }

    fileprivate func withdraw(_ id: Int) {
        _ = state.withLock { $0.actions.removeValue(forKey: id) }
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
            clientLeft()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone(context)
        context.fireChannelInactive()
    }

    private func markGone(_ context: ChannelHandlerContext) {
        clientLeft()
        let key = ObjectIdentifier(context.channel)
        Self.watches.withLock { _ = $0.removeValue(forKey: key) }
    }

    private func clientLeft() {
        let actions = state.withLock { state -> [LeaveAction] in
            state.gone = true
            defer { state.actions.removeAll() }
            return Array(state.actions.values)
        }
        for action in actions { action() }
    }
}

/// A `ClientConnectionWatch.whenClientLeaves` action, until it is withdrawn.
struct LeaveRegistration: Sendable {
    fileprivate let watch: ClientConnectionWatch?
    fileprivate let id: Int

    func withdraw() {
        watch?.withdraw(id)
    }
}
