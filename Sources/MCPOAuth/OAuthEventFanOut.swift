import Foundation

/// Changes worth reacting to (e.g. reconnecting a server once it is authorized).
public enum OAuthEvent: Sendable, Equatable {
    case authorized(user: String?)
    case authorizationFailed(user: String?, reason: String)
    case signedOut(user: String?)
    case sessionExpired(user: String)
    /// An access token was refreshed (or the refresh was refused or failed).
    case tokenRefreshed(user: String?, succeeded: Bool)
}

/// The event streams handed out, as a value: every event goes to each stream still open, and shutting down ends
/// them all (so their readers' loops finish).
struct OAuthEventFanOut {
    private var observers: [UUID: AsyncStream<OAuthEvent>.Continuation] = [:]

    /// A new stream's writing end; the id removes it once its reader is gone.
    mutating func add(_ continuation: AsyncStream<OAuthEvent>.Continuation) -> UUID {
        let id = UUID()
        observers[id] = continuation
        return id
    }

    mutating func remove(_ id: UUID) {
        observers[id] = nil
    }

    func emit(_ event: OAuthEvent) {
        for continuation in observers.values { continuation.yield(event) }
    }

    /// Ends every stream and forgets them.
    mutating func finishAll() {
        for continuation in observers.values { continuation.finish() }
        observers = [:]
    }
}
