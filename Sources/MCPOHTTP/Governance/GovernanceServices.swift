import Foundation
import MCPOAudit
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

    init(
        metrics: ProxyMetrics?, limiter: RateLimiter = RateLimiter(), replica: String = ProcessInfo.processInfo.hostName
    ) {
        self.metrics = metrics
        self.limiter = limiter
        self.replica = replica
    }

    var auditWriter: AuditWriter? { writer.withLock { $0 } }
    var pins: PinBook? { pinBook.withLock { $0 } }

    func use(auditWriter: AuditWriter?) {
        writer.withLock { $0 = auditWriter }
    }

    func use(pins: PinBook?) {
        pinBook.withLock { $0 = pins }
    }

    /// Whether calls are recorded at all (audit log or metrics): `Recording` is a stage of every call then.
    var records: Bool { metrics != nil || auditWriter != nil }
}
