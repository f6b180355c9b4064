import Foundation
import JSONValue
import NIOCore

/// Why a request to an upstream MCP server did not produce a result.
public enum MCPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with a JSON-RPC error.
    case rpc(code: Int, message: String, data: JSON?)
    /// The connection ended (child exited, stream closed) while the request was in flight or before it left.
    case disconnected(reason: String)
    /// No answer within the bound.
    case timedOut(seconds: Double)
    /// The server cannot be reached now (not started, failed to start, reconnecting).
    case unavailable(reason: String)
    /// The caller went away; the request was cancelled upstream.
    case cancelled
    /// The server broke the protocol (bad handshake, unsupported version, malformed result).
    case protocolViolation(String)
    /// The request never left the proxy (the connection was already gone), so sending it again is safe.
    case notDelivered(reason: String)
    /// The answer was larger than the proxy accepts.
    case responseTooLarge(limit: Int)
    /// The server is protected by OAuth and a user must authorize the proxy first, at `link`.
    case authorizationRequired(AuthorizationLink)
    /// The server refused the proxy's OAuth token for this request (403), even after a step-up authorization.
    case forbidden(reason: String)

    public var description: String {
        switch self {
        case .rpc(let code, let message, _): "JSON-RPC error \(code): \(message)"
        case .disconnected(let reason): "disconnected: \(reason)"
        case .timedOut(let seconds): "no answer within \(formatSeconds(seconds)) s"
        case .unavailable(let reason): "unavailable: \(reason)"
        case .cancelled: "cancelled"
        case .protocolViolation(let text): "protocol violation: \(text)"
        case .notDelivered(let reason): "not delivered: \(reason)"
        case .responseTooLarge(let limit): "the answer is larger than the limit of \(limit) bytes"
        case .authorizationRequired(let link): "OAuth authorization required: open \(link.url)"
        case .forbidden(let reason): "forbidden: \(reason)"
        }
    }

    /// The reason without the category prefix, for `unavailable` answers that quote an earlier failure.
    public var reason: String {
        switch self {
        case .disconnected(let reason), .unavailable(let reason): reason
        default: description
        }
    }
}

/// Where a user authorizes the proxy toward an OAuth-protected server.
public struct AuthorizationLink: Sendable, Equatable {
    /// The authorization URL (authorization code grant) or the verification URI (device grant).
    public var url: String
    /// The code to enter at `url` (device grant only).
    public var userCode: String?
    /// After this the link no longer works.
    public var expiresAt: Date?

    public init(url: String, userCode: String? = nil, expiresAt: Date? = nil) {
        self.url = url
        self.userCode = userCode
        self.expiresAt = expiresAt
    }
}

/// An HTTP answer that refused a message without a JSON-RPC error in its body. Only the MCP client acts
/// on it (era detection, session renewal); callers see it as `MCPClientError` (`clientError`).
struct HTTPRefusal: Error, Sendable, Equatable {
    var status: Int
    var detail: String
    /// A 404 for a request that carried an `Mcp-Session-Id`: the server forgot the session.
    var sessionExpired = false

    var clientError: MCPClientError {
        // A forgotten session that could not be renewed: the server is there but not serving us (503).
        sessionExpired ? .unavailable(reason: detail) : .disconnected(reason: detail)
    }
}

/// Why a request failed, as the client's internals see it.
enum RequestFailure: Error, Sendable, Equatable {
    case client(MCPClientError)
    case refused(HTTPRefusal)

    init(_ error: any Error) {
        switch error {
        case let failure as RequestFailure: self = failure
        case let error as MCPClientError: self = .client(error)
        case let refusal as HTTPRefusal: self = .refused(refusal)
        // A write on a channel that is already closed: nothing left the proxy.
        case let channelError as ChannelError
        where channelError == .ioOnClosedChannel || channelError == .alreadyClosed:
            self = .client(.notDelivered(reason: "the connection to the server was already closed"))
        default: self = .client(.disconnected(reason: "cannot deliver the message: \(error)"))
        }
    }

    var clientError: MCPClientError {
        switch self {
        case .client(let error): error
        case .refused(let refusal): refusal.clientError
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
