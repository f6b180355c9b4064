import JSONValue
import MCPClient

/// Why a request got no result: the HTTP face's one error type. Stages and routes say what happened; the statuses
/// and bodies are written in one place (`CallFailure+Answer.swift`).
enum CallFailure: Error, Sendable, Equatable {
    /// No credential, or one in a form the route does not take (401 with `challenge`).
    case unauthenticated(detail: String, challenge: String?)
    /// A credential that is not accepted (403): a wrong API key; or a call the credential may not make that way.
    case forbidden(detail: String)
    /// A bearer token that does not verify, with why (401, RFC 6750's `invalid_token` in `challenge`).
    case invalidToken(reason: String, challenge: String)
    /// The caller's scopes do not cover what the call needs (403, RFC 6750's `insufficient_scope`).
    case insufficientScope(detail: String, required: [String], challenge: String)
    /// A valid credential that may not make this call that way (403), e.g. a token for another audience.
    case refused(detail: String)
    /// A tool at or above the server's `confirm` risk, called without `"confirm": true` (428).
    case confirmationRequired(tool: String, risk: String, field: String)
    /// The caller's rate for the server or the tool is used up (429 with `Retry-After`).
    case rateLimited(detail: String, retryAfterSeconds: Int)
    /// The tool's definition changed since it was approved (`pinTools: block`, 409).
    case definitionChanged(tool: String, server: String, approved: String, current: String)
    /// `audit.required` and the audit log cannot be written (503).
    case auditUnavailable
    /// `pinTools: block` and the approved definitions cannot be read from the store yet (503).
    case pinsUnreadable(server: String)
    /// A session token that does not verify (401, `invalid_token`).
    case invalidSession(detail: String)
    /// Multi-user OAuth: the caller has no session yet and signs in at `authorizeURL` (401).
    case signInRequired(server: String, authorizeURL: String)
    /// OAuth toward `server`: a user must authorize the proxy (or the caller) first, at `link` (401).
    case authorizationRequired(server: String, link: AuthorizationLink)
    /// The route takes other methods (405).
    case methodNotAllowed(allow: String)
    case notFound
    /// `GET /resources/read`: the server has no resource at `uri` (404).
    case noSuchResource(server: String, uri: String, message: String)
    /// Something in the request that the caller must fix (400).
    case badRequest(detail: String)
    /// The body is over `--max-body-size` (413).
    case bodyTooLarge(limit: Int)
    /// The arguments do not fit the tool's input schema (422, the validator's body).
    case invalidArguments(body: JSON)
    /// Too many calls running and queued for the server (503).
    case overloaded(server: String, running: Int, queued: Int)
    /// The HTTP client went away and the call was cancelled (499).
    case clientLeft
    /// The server asks the caller a question (`elicitation/create`): 409 with the question and the token the answer
    /// comes back with.
    case inputRequired(question: JSON, continuation: String)
    /// `X-MCPO-Continuation` names no open question (never given, or answered already): 404.
    case continuationUnknown
    /// `X-MCPO-Continuation` names another caller's question: 403.
    case continuationForeign
    /// `X-MCPO-Continuation` names a question not answered in time, which was cancelled: 504.
    case continuationExpired(seconds: Double)
    /// The upstream server did not give the call a result.
    case upstream(server: String, MCPClientError)
}
