/// The MCP revisions the endpoint speaks: those with the `initialize` handshake and sessions, and the stateless
/// 2026-07-28 one (every request carries its version in `_meta`).
enum MCPProtocolVersions {
    static let handshake = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    static let stateless = ["2026-07-28"]
    static let all = handshake + stateless

    static let versionKey = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    static let serverInfoKey = "io.modelcontextprotocol/serverInfo"
    static let subscriptionKey = "io.modelcontextprotocol/subscriptionId"

    /// The version `initialize` answers: the client's when the endpoint speaks it, else the newest handshake one
    /// (the client then decides whether it can go on).
    static func negotiated(_ requested: String?) -> String {
        if let requested, handshake.contains(requested) { return requested }
        return handshake[handshake.count - 1]
    }
}
