import Foundation
import Logging

/// One loopback listener per port, shared by every server of the process that waits for a callback on it
/// (mcpo gives every server the same default `callback_port` 3030). A callback goes to the server that issued
/// its `state`; an unknown state gets the failure page. The listener stops when its last user detaches.
public actor LoopbackRegistry {
    public static let shared = LoopbackRegistry()

    /// A server waiting for callbacks: whether it issued a `state`, and how it completes a callback.
    struct Client: Sendable {
        var owns: @Sendable (String) async -> Bool
        var handle: LoopbackCallbackServer.Handler
    }

    private var listeners: [Int: LoopbackCallbackServer] = [:]
    private var starting: [Int: Task<LoopbackCallbackServer, any Error>] = [:]
    private var clients: [Int: [UUID: Client]] = [:]

    public init() {}

    /// Registers `id` on `port`, starting the listener if it is the first (once, however many attach at the
    /// same time); throws when the port cannot be bound.
    func attach(port: Int, id: UUID, client: Client, logger: Logger) async throws {
        clients[port, default: [:]][id] = client
        guard listeners[port] == nil else { return }
        let task: Task<LoopbackCallbackServer, any Error>
        if let running = starting[port] {
            task = running
        } else {
            task = Task {
                try await LoopbackCallbackServer.start(port: port, logger: logger) { [weak self] query in
                    guard let self else {
                        return .init(
                            status: 503, html: OAuthPages.failure(server: nil, reason: "the proxy is stopping"))
                    }
                    return await self.dispatch(port: port, query: query)
                }
            }
            starting[port] = task
        }
        do {
            let listener = try await task.value
            starting[port] = nil
            if listeners[port] == nil { listeners[port] = listener }
            if clients[port]?.isEmpty ?? true { await detach(port: port, id: id) }
        } catch {
            starting[port] = nil
            clients[port]?[id] = nil
            throw error
        }
    }

    /// Unregisters `id`; stops the listener when nobody else waits on `port`.
    func detach(port: Int, id: UUID) async {
        clients[port]?[id] = nil
        guard clients[port]?.isEmpty ?? true, let listener = listeners.removeValue(forKey: port) else { return }
        clients[port] = nil
        await listener.stop()
    }

    /// Whether a listener runs on `port`.
    public func isListening(port: Int) -> Bool { listeners[port] != nil }

    private func dispatch(port: Int, query: String) async -> LoopbackCallbackServer.Reply {
        let state = (try? AuthorizationCallback(query: query))?.state
        if let state {
            for client in (clients[port] ?? [:]).values {
                if await client.owns(state) { return await client.handle(query) }
            }
        }
        let reason = OAuthError.invalidCallback("unknown or already used state; start the authorization again")
        return .init(status: 400, html: OAuthPages.failure(server: nil, reason: reason.description))
    }
}
