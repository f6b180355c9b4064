import JSONValue
import MCPBridge
import MCPClient
import MCPOAuth
import NIOHTTP1

/// Every failure's status, body and headers, in one place. Bodies are FastAPI's shapes (`{"detail": …}`), worded
/// as mcpo words them where mcpo has the case.
extension CallFailure {
    var answer: HTTPAnswer {
        switch self {
        case .unauthenticated(let detail, _), .forbidden(let detail):
            return HTTPAnswer(status: status, body: ["detail": .string(detail)])
        case .invalidToken(let reason, _):
            return HTTPAnswer(status: 401, body: ["detail": .string(reason)])
        case .insufficientScope(let detail, let required, _):
            return HTTPAnswer(
                status: 403, body: ["detail": .string(detail), "required_scopes": .array(required.map(JSON.string))])
        case .refused(let detail):
            return HTTPAnswer(status: 403, body: ["detail": .string(detail)])
        case .confirmationRequired(let tool, let risk, let field):
            return HTTPAnswer(
                status: 428,
                body: [
                    "detail": .string(
                        "\(tool) is a \(risk)-risk tool: repeat the call with \"\(field)\": true to run it."),
                    "risk": .string(risk),
                ])
        case .rateLimited(let detail, _):
            return HTTPAnswer(status: 429, body: ["detail": .string(detail)])
        case .definitionChanged(let tool, let server, let approved, let current):
            return HTTPAnswer(
                status: 409,
                body: [
                    "detail": .string(
                        "The definition of tool '\(tool)' changed since it was approved; approve it with: "
                            + "mcpo pins approve \(server) \(tool)"),
                    "approved": .string(approved), "current": .string(current),
                ])
        case .auditUnavailable:
            return HTTPAnswer(
                status: 503,
                body: [
                    "detail":
                        "The audit log cannot be written, and audit.required refuses calls that would not be recorded"
                ])
        case .pinsUnreadable(let server):
            return HTTPAnswer(
                status: 503,
                body: [
                    "detail": .string(
                        "The approved tool definitions of '\(server)' cannot be read from the store yet, and "
                            + "pinTools: block refuses calls it cannot check; try again once the store is back")
                ])
        case .invalidSession(let detail):
            return HTTPAnswer(status: 401, body: ["detail": .string("Invalid session token: \(detail)")])
        case .signInRequired(let server, let link):
            return HTTPAnswer(
                status: 401,
                body: [
                    "error": "authentication_required",
                    "message": .string("Sign in for \(server): [sign in](\(link)), then retry."),
                    "server": .string(server), "authorization_url": .string(link),
                ])
        case .authorizationRequired(let server, let link):
            return HTTPAnswer(
                status: 401,
                body: OAuthPages.authorizationRequiredBody(
                    server: server, url: link.url, userCode: link.userCode, expiresAt: link.expiresAt))
        case .methodNotAllowed:
            return StandardAnswers.methodNotAllowed
        case .notFound:
            return StandardAnswers.notFound
        case .noSuchResource(let server, let uri, let message):
            return HTTPAnswer(
                status: 404,
                body: ["detail": .string("MCP server '\(server)' has no resource '\(uri)': \(message)")])
        case .badRequest(let detail):
            return HTTPAnswer(status: 400, body: ["detail": .string(detail)])
        case .bodyTooLarge(let limit):
            return StandardAnswers.bodyTooLarge(limit: limit)
        case .invalidArguments(let body):
            return HTTPAnswer(status: 422, body: body)
        case .overloaded(let server, let running, let queued):
            return Self.message(
                503,
                "MCP server '\(server)' is unavailable: too many calls in flight (\(running) running, \(queued) queued)"
            )
        case .clientLeft:
            return HTTPAnswer(status: 499, body: ["detail": "The client closed the request"])
        case .upstream(let server, let error):
            return Self.answer(for: error, server: server)
        case .inputRequired(let question, let token):
            var elicitation = OrderedJSONObject()
            elicitation["message"] = question["message"] ?? ""
            elicitation["requestedSchema"] = question["requestedSchema"] ?? ["type": "object", "properties": [:]]
            return HTTPAnswer(
                status: 409,
                body: [
                    "detail": "The server needs more input to finish this call.", "elicitation": .object(elicitation),
                    "continuation": .string(token),
                ])
        case .continuationUnknown:
            return HTTPAnswer(
                status: 404,
                body: [
                    "detail":
                        "No open question has this X-MCPO-Continuation token: it was answered already, or never given"
                ])
        case .continuationForeign:
            return HTTPAnswer(
                status: 403,
                body: ["detail": "This X-MCPO-Continuation token was given to another caller (or credential)"])
        case .continuationExpired(let seconds):
            return HTTPAnswer(
                status: 504,
                body: [
                    "detail": .string(
                        "The question was not answered within \(Self.format(seconds)) s (elicitationTimeoutSeconds); "
                            + "it was cancelled and the call went on without the answer")
                ])
        }
    }

    var status: Int {
        switch self {
        case .unauthenticated, .invalidSession, .signInRequired, .authorizationRequired, .invalidToken: 401
        case .forbidden, .insufficientScope, .refused: 403
        case .confirmationRequired: 428
        case .rateLimited: 429
        case .definitionChanged: 409
        case .auditUnavailable, .pinsUnreadable: 503
        case .methodNotAllowed: 405
        case .notFound, .noSuchResource: 404
        case .badRequest: 400
        case .bodyTooLarge: 413
        case .invalidArguments: 422
        case .overloaded: 503
        case .clientLeft: 499
        case .inputRequired: 409
        case .continuationUnknown: 404
        case .continuationForeign: 403
        case .continuationExpired: 504
        case .upstream: answer.status
        }
    }

    /// Headers the answer needs besides its body's type.
    var headers: HTTPHeaders {
        switch self {
        case .unauthenticated(_, let challenge?): ["WWW-Authenticate": challenge]
        case .invalidToken(_, let challenge), .insufficientScope(_, _, let challenge): ["WWW-Authenticate": challenge]
        case .invalidSession: ["WWW-Authenticate": #"Bearer error="invalid_token""#]
        case .methodNotAllowed(let allow): ["Allow": allow]
        case .rateLimited(_, let seconds): ["Retry-After": String(seconds)]
        default: [:]
        }
    }

    /// The failure's message, for the audit log: the body's `detail` (or `message`) as text.
    var message: String {
        let body = answer.body
        if let detail = body["detail"] {
            if let text = detail.stringValue { return text }
            if let text = detail["message"]?.stringValue { return text }
            return detail.text
        }
        return body["message"]?.stringValue ?? body.text
    }

    var response: ProxyResponse {
        ProxyResponse.json(answer, headers: headers)
    }

    /// What an upstream failure answers: mcpo's statuses for JSON-RPC errors (-32700 and -32600 → 400, -32601 →
    /// 404, -32602 → 422, any other → 500), 502 when the server broke the call, 504 when it took too long, 503 when
    /// it cannot be reached.
    static func answer(for error: MCPClientError, server: String) -> HTTPAnswer {
        switch error {
        case .rpc(let code, let message, let data):
            var detail: JSON = ["message": .string(message)]
            if let data, !data.isNull { detail["data"] = data }
            return HTTPAnswer(status: RPCErrorStatus.status(forCode: code), body: ["detail": detail])
        case .disconnected(let reason), .notDelivered(let reason):
            return disconnected(server, reason)
        case .cancelled:
            return disconnected(server, "the call was cancelled")
        case .protocolViolation(let text):
            return disconnected(server, "protocol violation: \(text)")
        case .responseTooLarge(let limit):
            return disconnected(server, "the answer is larger than the limit of \(limit) bytes")
        case .timedOut(let seconds):
            return message(504, "MCP server '\(server)' did not answer within \(format(seconds)) s")
        case .unavailable(let reason):
            return message(503, "MCP server '\(server)' is unavailable: \(reason)")
        case .authorizationRequired(let link):
            return CallFailure.authorizationRequired(server: server, link: link).answer
        case .forbidden(let reason):
            return message(403, "MCP server '\(server)' refused the call: \(reason)")
        }
    }

    private static func disconnected(_ server: String, _ reason: String) -> HTTPAnswer {
        message(502, "MCP server '\(server)' disconnected: \(reason)")
    }

    private static func message(_ status: Int, _ text: String) -> HTTPAnswer {
        HTTPAnswer(status: status, body: ["detail": ["message": .string(text)]])
    }

    /// `30` rather than `30.0`, `2.5` as is.
    static func format(_ seconds: Double) -> String {
        if seconds.isFinite, seconds == seconds.rounded(), abs(seconds) < 1e15 { return String(Int64(seconds)) }
        return String(seconds)
    }
}
