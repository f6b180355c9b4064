import NIOCore

/// Controls the session side of a streamable HTTP transport; `MCPSession` drives it.
protocol HTTPSessionControl: AnyObject, Sendable {
    /// From now on every request carries `MCP-Protocol-Version: version`.
    func useProtocolVersion(_ version: String)
    /// Forgets the session id, so the next `initialize` opens a new session.
    func resetSession()
    /// Called (once per session) when the server says it no longer knows our session.
    func onSessionExpired(_ handler: @escaping @Sendable () -> Void)
    /// Waits (at most `bound`) until the stream of server-initiated messages is open or known to be absent.
    func waitUntilListening(within bound: TimeAmount) async
}
