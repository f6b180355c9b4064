import Foundation
import JSONValue
import MCPBridge
import MCPOAudit
import MCPOIdentity
import NIOCore
import NIOHTTP1

/// The routes of accountability:
///
/// - `GET /metrics`: Prometheus' text format; public without credentials configured, else the scope `mcpo:metrics`.
/// - `GET /audit` and `GET /audit/stats`: the audit log; the scope `mcpo:audit`. Without any credential configured
///   they answer 404, so an open proxy never publishes its log.
/// - `POST /pins/<server>/<tool>/approve`: approves a changed definition; the scope `mcpo:admin` (404 likewise).
enum GovernanceRoute: Sendable, Equatable {
    case metrics
    case audit
    case auditStats
    case approvePin(server: String, tool: String)

    var path: String {
        switch self {
        case .metrics: "/metrics"
        case .audit: "/audit"
        case .auditStats: "/audit/stats"
        case .approvePin(let server, let tool): Self.approvePath(server: server, tool: tool)
        }
    }

    static func approvePath(server: String, tool: String) -> String {
        "/pins/\(server)/\(tool)/approve"
    }

    /// The scope a caller needs.
    var scope: String {
        switch self {
        case .metrics: "mcpo:metrics"
        case .audit, .auditStats: "mcpo:audit"
        case .approvePin: "mcpo:admin"
        }
    }
}

/// Answers one `GovernanceRoute` request.
struct GovernanceRouteHandler {
    let route: GovernanceRoute
    let services: GovernanceServices
    let check: CredentialCheck
    let address: PublicAddress
    let readings: @Sendable () -> [ProxyMetrics.ServerReading]

    func respond(to request: ProxyRequest) async -> ProxyResponse {
        let open = !check.authenticator.requiresCredentials
        if open, route != .metrics { return CallFailure.notFound.response }
        let method: HTTPMethod = if case .approvePin = route { .POST } else { .GET }
        if !open {
            switch await check.authenticate(request, address: address) {
            case .failure(let failure): return failure.response
            case .success(let caller):
                guard caller.scopes.allows(route.scope) else {
                    return check.insufficientScope([route.scope], needed: [route.scope], tool: route.path).response
                }
            }
        }
        guard request.method == method || (method == .GET && request.method == .HEAD) else {
            return CallFailure.methodNotAllowed(allow: method.rawValue).response
        }
        switch route {
        case .metrics:
            guard let metrics = services.metrics else { return CallFailure.notFound.response }
            let text = metrics.exposition(servers: readings(), audit: services.auditWriter)
            return ProxyResponse(
                status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: .bytes(ByteBuffer(bytes: text)))
        case .audit:
            guard let writer = services.auditWriter else { return Self.auditOff }
            switch AuditQueryParser.query(request.query) {
            case .failure(let failure): return failure.response
            case .success(let query):
                do throws(AuditError) {
                    return .json(HTTPAnswer(status: 200, body: try await writer.store.records(matching: query).json))
                } catch {
                    return Self.storeFailed(error)
                }
            }
        case .auditStats:
            guard let writer = services.auditWriter else { return Self.auditOff }
            let parameters = AuditQueryParser.parameters(request.query)
            var since: Date?
            if let text = parameters["since"] {
                guard let date = AuditTime.parse(text) else { return AuditQueryParser.badTime("since").response }
                since = date
            }
            do throws(AuditError) {
                return .json(HTTPAnswer(status: 200, body: try await writer.store.stats(since: since).json))
            } catch {
                return Self.storeFailed(error)
            }
        case .approvePin(let server, let tool):
            guard let pins = services.pins else { return CallFailure.notFound.response }
            do throws(AuditError) {
                let approved = try await pins.approve(server: server, tools: [tool])
                return .json(
                    HTTPAnswer(
                        status: 200,
                        body: [
                            "approved": .array(
                                approved.map {
                                    [
                                        "server": .string($0.server), "tool": .string($0.tool),
                                        "hash": .string($0.approvedHash),
                                    ]
                                })
                        ]))
            } catch {
                return Self.storeFailed(error)
            }
        }
    }

    static let auditOff = ProxyResponse.json(
        HTTPAnswer(status: 404, body: ["detail": "The audit log is off: configure 'audit' (or --audit) to keep one"]))

    static func storeFailed(_ error: AuditError) -> ProxyResponse {
        .json(
            HTTPAnswer(status: 503, body: ["detail": .string("The audit store cannot be read: \(error.description)")]))
    }
}

/// The query of `GET /audit`: `server`, `tool`, `caller`, `outcome`, `since`, `until`, `limit`, `cursor`.
enum AuditQueryParser {
    static func parameters(_ query: String?) -> [String: String] {
        var parameters: [String: String] = [:]
        for (name, value) in QueryParameters.parse(query) { parameters[name] = value }
        return parameters
    }

    static func query(_ text: String?) -> Result<AuditQuery, CallFailure> {
        let parameters = parameters(text)
        var query = AuditQuery()
        for (name, value) in parameters {
            switch name {
            case "server": query.server = value
            case "tool": query.tool = value
            case "caller": query.caller = value
            case "outcome":
                guard let outcome = AuditOutcome(rawValue: value) else {
                    return .failure(
                        .badRequest(
                            detail: "outcome must be one of "
                                + AuditOutcome.allCases.map(\.rawValue).joined(separator: ", ")))
                }
                query.outcome = outcome
            case "since", "until":
                guard let date = AuditTime.parse(value) else { return .failure(badTime(name)) }
                if name == "since" { query.since = date } else { query.until = date }
            case "limit":
                guard let limit = Int(value), (1...AuditQuery.maximumLimit).contains(limit) else {
                    return .failure(
                        .badRequest(detail: "limit must be a whole number from 1 to \(AuditQuery.maximumLimit)"))
                }
                query.limit = limit
            case "cursor":
                guard let cursor = AuditCursor(text: value) else {
                    return .failure(.badRequest(detail: "cursor is not one this proxy gave: use the 'next' of a page"))
                }
                query.cursor = cursor
            default:
                return .failure(
                    .badRequest(
                        detail:
                            "unknown parameter '\(name)'; use server, tool, caller, outcome, since, until, limit, cursor"
                    ))
            }
        }
        return .success(query)
    }

    static func badTime(_ name: String) -> CallFailure {
        .badRequest(
            detail: "\(name) must be a time such as 2026-12-06T02:10:38.123Z, or a duration back from now such as "
                + "90s, 15m, 1h or 7d")
    }
}
