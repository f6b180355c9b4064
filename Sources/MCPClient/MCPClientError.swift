import JSONValue

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

    public var description: String {
        switch self {
        case .rpc(let code, let message, _): "JSON-RPC error \(code): \(message)"
        case .disconnected(let reason): "disconnected: \(reason)"
        case .timedOut(let seconds): "no answer within \(formatSeconds(seconds)) s"
        case .unavailable(let reason): "unavailable: \(reason)"
        case .cancelled: "cancelled"
        case .protocolViolation(let text): "protocol violation: \(text)"
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
