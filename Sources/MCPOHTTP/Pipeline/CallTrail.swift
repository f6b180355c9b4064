import Foundation
import JSONValue
import MCPBridge
import MCPClient
import MCPOAudit
import MCPOConfig
import MCPOIdentity
import NIOCore
import Synchronization

/// What is known of one call as it passes the stages, for its audit record and its metrics: made by `Recording`,
/// told who called and with which arguments by the stages that find out, and concluded once with the answer
/// (by `Answer`, or by `EventStream` when the stream ends).
final class CallTrail: Sendable {
    private struct Facts {
        var identity: CallerIdentity?
        var arguments: JSON?
        var concluded = false
    }

    let id: String
    let time: Date
    let started: ContinuousClock.Instant
    let traceID: String?
    let endpoint: ToolEndpoint
    let body: ByteBuffer
    private let services: GovernanceServices
    private let facts = Mutex(Facts())

    init(id: String, traceID: String?, endpoint: ToolEndpoint, body: ByteBuffer, services: GovernanceServices) {
        self.id = id
        self.time = Date()
        self.started = .now
        self.traceID = traceID
        self.endpoint = endpoint
        self.body = body
        self.services = services
    }

    func identify(_ identity: CallerIdentity) {
        facts.withLock { $0.identity = identity }
    }

    /// The arguments as they go upstream.
    func arguments(_ arguments: JSON) {
        facts.withLock { $0.arguments = arguments }
    }

    /// The record of the call, once: `value` is the result or failure, `status` and `body` the answer made of it.
    func conclude(_ value: CallOutcome.Value, status: Int, body: some Collection<UInt8>) async {
        let elapsed = ContinuousClock.now - started
        let facts = self.facts.withLock { facts -> Facts? in
            guard !facts.concluded else { return nil }
            // Taken out rather than copied: what stays behind says only that the call is concluded.
            var taken = Facts(concluded: true)
            swap(&taken, &facts)
            return taken
        }
        guard let facts else { return }
        let outcome = AuditOutcome.of(value)
        services.metrics?.record(endpoint: endpoint, outcome: outcome, elapsed: elapsed)
        guard let writer = services.auditWriter else { return }
        var error: String?
        if case .failure(let failure) = value { error = failure.message }
        let record = self.record(
            facts, outcome, error: error, status: status, body: body, elapsed: elapsed, writer.settings)
        if writer.settings.required {
            _ = await writer.submitAndWait(record)
        } else {
            writer.submit(record)
        }
    }

    private func record(
        _ facts: Facts, _ outcome: AuditOutcome, error: String?, status: Int, body: some Collection<UInt8>,
        elapsed: Duration, _ settings: AuditSettings
    ) -> AuditRecord {
        let identity = facts.identity ?? .anonymous
        let limit = settings.outputChars
        return AuditRecord(
            id: id, time: time, caller: identity.name, user: identity.user, tenant: identity.tenant,
            server: endpoint.server.name, tool: endpoint.operation.tool.name,
            argsSha256: Self.hash(
                arguments: facts.arguments, body: self.body, dropping: endpoint.operation.confirmField),
            status: status, outcome: outcome, durationMs: Self.milliseconds(elapsed),
            output: AuditRecord.truncated(String(decoding: body, as: UTF8.self), to: limit),
            error: error.flatMap { AuditRecord.truncated($0, to: limit) }, risk: endpoint.operation.risk.rawValue,
            replica: services.replica, traceId: traceID)
    }

    /// SHA-256 of the arguments in canonical JSON: those validated, else the body's (without the proxy's confirm
    /// field), `{}` for an empty body; the raw body's bytes when it is no JSON object.
    static func hash(arguments: JSON?, body: ByteBuffer, dropping confirmField: String? = nil) -> String {
        let bytes: [UInt8]
        if let arguments {
            bytes = arguments.canonicalBytes
        } else if body.readableBytes == 0 {
            bytes = Array("{}".utf8)
        } else if case .object(var object)? = try? JSON.parse(body.readableBytesView) {
            if let confirmField { object[confirmField] = nil }
            bytes = JSON.object(object).canonicalBytes
        } else {
            bytes = Array(body.readableBytesView)
        }
        return Digest.sha256Hex(bytes)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components  // computed: a 128-bit division each time it is read
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

extension AuditOutcome {
    /// The outcome of a call that ended with `value` (a function, not an initializer: it borrows `value` where an
    /// initializer would take a copy of it).
    static func of(_ value: CallOutcome.Value) -> AuditOutcome {
        switch value {
        case .result(let result):
            result["isError"]?.boolValue == true ? .toolError : .ok
        case .response:
            .ok
        case .failure(let failure):
            AuditOutcome(failure)
        }
    }

    init(_ failure: CallFailure) {
        switch failure {
        case .unauthenticated, .forbidden, .invalidToken, .invalidSession, .signInRequired, .authorizationRequired:
            self = .unauthenticated
        case .insufficientScope, .refused:
            self = .denied
        case .methodNotAllowed, .notFound, .noSuchResource, .badRequest, .bodyTooLarge, .invalidArguments:
            self = .invalidArguments
        case .confirmationRequired:
            self = .confirmationRequired
        case .rateLimited:
            self = .rateLimited
        case .definitionChanged:
            self = .definitionChanged
        case .overloaded, .auditUnavailable, .pinsUnreadable:
            self = .unavailable
        case .clientLeft:
            self = .disconnected
        case .inputRequired:
            self = .inputRequired
        case .continuationUnknown:
            self = .invalidArguments
        case .continuationForeign:
            self = .denied
        case .continuationExpired:
            self = .timeout
        case .upstream(_, let error):
            switch error {
            case .rpc, .protocolViolation, .responseTooLarge: self = .protocolError
            case .disconnected, .cancelled: self = .disconnected
            case .timedOut: self = .timeout
            case .unavailable, .notDelivered: self = .unavailable
            case .authorizationRequired: self = .unauthenticated
            case .forbidden: self = .denied
            }
        }
    }
}
