import JSONValue

/// What the proxy knows about a connected server: who it is and the tools it serves now.
public struct UpstreamSnapshot: Sendable {
    public var server: ServerIdentity
    /// The tools as `tools/list` described them, in order, already filtered by the entry's tool lists.
    public var tools: [JSON]
    /// The prompts as `prompts/list` described them (none when the server declares no `prompts` capability).
    public var prompts: [JSON]

    public init(server: ServerIdentity, tools: [JSON], prompts: [JSON] = []) {
        self.server = server
        self.tools = tools
        self.prompts = prompts
    }

    /// The server's capabilities declare resources.
    public var offersResources: Bool { server.capabilities["resources"]?.objectValue != nil }
    /// The server's capabilities declare prompts.
    public var offersPrompts: Bool { server.capabilities["prompts"]?.objectValue != nil }
}

/// Where an upstream server stands, for health reports.
public enum UpstreamState: Sendable, Equatable {
    /// The first connection attempt is under way.
    case starting
    case connected
    /// Not connected; background supervision tries again in `nextAttemptIn` seconds.
    case reconnecting(lastError: String, nextAttemptIn: Double)
    /// Not connected and not retrying by itself (the next call tries again).
    case failed(String)
    /// OAuth: the server needs a user to authorize the proxy (open `url`); it connects once that is done,
    /// without retrying meanwhile.
    case awaitingAuthorization(url: String)
    case stopped
}

public struct UpstreamStatus: Sendable, Equatable {
    public var state: UpstreamState
    /// Tools served from the latest snapshot (kept while reconnecting: the routes stay up).
    public var toolCount: Int
    public var serverName: String?
    public var protocolVersion: String?
    public var lastError: String?
    /// The last lines a stdio server wrote to stderr (empty for remote servers).
    public var recentStderr: [String] = []
    /// Connections made after the first one.
    public var reconnections = 0

    public init(
        state: UpstreamState, toolCount: Int, serverName: String? = nil, protocolVersion: String? = nil,
        lastError: String? = nil, recentStderr: [String] = [], reconnections: Int = 0
    ) {
        self.reconnections = reconnections
        self.state = state
        self.toolCount = toolCount
        self.serverName = serverName
        self.protocolVersion = protocolVersion
        self.lastError = lastError
        self.recentStderr = recentStderr
    }
}

/// Bounds on what one upstream server may send.
public struct UpstreamLimits: Sendable {
    /// The largest message accepted from a stdio server; a larger answer fails its call (502).
    public var maxMessageBytes: Int

    public init(maxMessageBytes: Int = 64 * 1024 * 1024) {
        self.maxMessageBytes = maxMessageBytes
    }
}
