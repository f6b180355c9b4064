import Foundation
import MCPOAudit
import MCPOAuth
import Synchronization

/// What the accountability stages share: request ids, the audit writer (once its store is open), the metrics, the
/// rate limiter and the pinned definitions. Made with the proxy; the audit writer and the pins arrive at start.
final class GovernanceServices: Sendable {
    let requestIDs = RequestIDs()
    /// The host name, as audit records name the replica.
    let replica: String
    let metrics: ProxyMetrics?
    let limiter: RateLimiter
    private let writer = Mutex<AuditWriter?>(nil)
    private let pinBook = Mutex<PinBook?>(nil)
    private let store = Mutex<String?>(nil)
    private let oauth = Mutex<(state: (any SharedOAuthState)?, sessionKey: [UInt8]?)>((nil, nil))

    init(
        metrics: ProxyMetrics?, limiter: RateLimiter = RateLimiter(), replica: String = GovernanceServices.replicaName
    ) {
        self.metrics = metrics
        self.limiter = limiter
        self.replica = replica
    }

    /// `MCPO_REPLICA` (a pod's name, say), else the host name.
    static var replicaName: String {
        let given = ProcessInfo.processInfo.environment["MCPO_REPLICA"] ?? ""
        return given.isEmpty ? ProcessInfo.processInfo.hostName : given
    }

    var auditWriter: AuditWriter? { writer.withLock { $0 } }
    var pins: PinBook? { pinBook.withLock { $0 } }

    func use(auditWriter: AuditWriter?) {
        writer.withLock { $0 = auditWriter }
    }

    func use(pins: PinBook?) {
        pinBook.withLock { $0 = pins }
    }

    /// The OAuth state replicas share, and the session signing key they share (multi-user servers).
    func use(oauthState: any SharedOAuthState, sessionKey: [UInt8]?) {
        oauth.withLock { $0 = (oauthState, sessionKey) }
    }

    var sharedOAuth: (state: (any SharedOAuthState)?, sessionKey: [UInt8]?) { oauth.withLock { $0 } }

    func use(storeName: String) {
        store.withLock { $0 = storeName }
    }

    /// The store in use and whether it answers (its last write, else its last read of the pins), for `/readyz`.
    var storeHealth: (name: String, up: Bool, error: String?)? {
        guard let name = store.withLock({ $0 }) else { return nil }
        if let writer = auditWriter { return (name, writer.isHealthy, writer.lastError) }
        if let pins { return (name, pins.lastError == nil, pins.lastError) }
        return (name, true, nil)
    }

    /// Whether calls are recorded at all (audit log or metrics): `Recording` is a stage of every call then.
    var records: Bool { metrics != nil || auditWriter != nil }
}
