/// How to reach one upstream MCP server.
public enum ServerTransport: Sendable, Equatable {
    case stdio(StdioCommand)
    case sse(RemoteEndpoint)
    case streamableHTTP(RemoteEndpoint)

    public var kindName: String {
        switch self {
        case .stdio: "stdio"
        case .sse: "sse"
        case .streamableHTTP: "streamable-http"
        }
    }
}

/// A server the proxy spawns and talks to over its standard input and output.
public struct StdioCommand: Sendable, Equatable {
    public var command: String
    public var arguments: [String]
    /// Added to (and overriding) the proxy's own environment, as mcpo does.
    public var environment: [String: String]
    public var workingDirectory: String?

    public init(
        command: String, arguments: [String] = [], environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) {
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }
}

/// A server reached over HTTP (legacy SSE or streamable HTTP).
public struct RemoteEndpoint: Sendable, Equatable {
    public var url: String
    /// Sent on every upstream request (`--header` / config `headers`).
    public var headers: [(name: String, value: String)]

    public init(url: String, headers: [(name: String, value: String)] = []) {
        self.url = url
        self.headers = headers
    }

    public static func == (lhs: RemoteEndpoint, rhs: RemoteEndpoint) -> Bool {
        lhs.url == rhs.url && lhs.headers.elementsEqual(rhs.headers, by: { $0 == $1 })
    }
}

/// Which transport names mean what; mcpo's spellings plus those other MCP clients write.
public enum TransportName {
    public static func normalized(_ name: String) -> String? {
        switch name.lowercased() {
        case "stdio": "stdio"
        case "sse": "sse"
        case "streamable-http", "streamable_http", "streamablehttp", "http": "streamable-http"
        default: nil
        }
    }
}

/// One upstream server as the proxy serves it.
public struct ServerEntry: Sendable, Equatable {
    public var name: String
    public var transport: ServerTransport
    /// Tools hidden from routes and documents (`disabledTools`).
    public var disabledTools: Set<String>
    /// When set, only these tools are served (`enabledTools`).
    public var enabledTools: Set<String>?
    /// Per-call timeout for this server, overriding the global default.
    public var callTimeoutSeconds: Double?

    public init(
        name: String, transport: ServerTransport, disabledTools: Set<String> = [], enabledTools: Set<String>? = nil,
        callTimeoutSeconds: Double? = nil
    ) {
        self.name = name
        self.transport = transport
        self.disabledTools = disabledTools
        self.enabledTools = enabledTools
        self.callTimeoutSeconds = callTimeoutSeconds
    }

    /// Whether a tool of this server is served.
    public func serves(tool: String) -> Bool {
        if disabledTools.contains(tool) { return false }
        if let enabledTools { return enabledTools.contains(tool) }
        return true
    }
}
