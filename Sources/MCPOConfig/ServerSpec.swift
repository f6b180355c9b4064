import JSONValue

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
///
/// Two entries are equal when every field is: hot reload restarts a server exactly when its entry changed.
/// The JSON fields (`oauth`, `clientHeaderForwarding`, `rawConfig`) compare objects regardless of key order,
/// as mcpo's dict comparison does, so reordering keys in the file is not a change.
public struct ServerEntry: Sendable, Equatable {
    public var name: String
    public var transport: ServerTransport
    /// Tools hidden from routes and documents (`disabledTools`).
    public var disabledTools: Set<String>
    /// When set, only these tools are served (`enabledTools`).
    public var enabledTools: Set<String>?
    /// Per-call timeout for this server, overriding the global default.
    public var callTimeoutSeconds: Double?
    /// Per-tool timeouts (`toolTimeouts`), overriding the server's.
    public var toolTimeoutSeconds: [String: Double] = [:]
    /// Calls of this server run at once at most (`maxConcurrentCalls`); nil takes the global limit.
    public var maxConcurrentCalls: Int?
    /// The `oauth` object as written (after `${VAR}` expansion); checked to be an object, otherwise uninterpreted.
    public var oauth: JSON?
    /// The `client_header_forwarding` object as written; validated as mcpo does, without effect (as in mcpo).
    public var clientHeaderForwarding: JSON?
    /// The whole entry as written in the config file, known keys after `${VAR}` expansion.
    public var rawConfig: JSON
    /// What calls need (scopes) and carry upstream about their caller (headers, token, tenant).
    public var access = ServerAccess()
    /// Risk classes, confirmation, pinned definitions and rate limits of its tools.
    public var governance = ServerGovernance()
    /// Its resources and prompts in the documents, and the roots the proxy tells it of.
    public var features = ServerFeatureSettings()
    /// One process per caller (`isolation: user`), stdio servers only.
    public var isolation = ServerIsolation()

    /// In a remote server's `url`: filled with the caller's tenant; one upstream session per tenant.
    public static let tenantPlaceholder = "{tenant}"

    /// Whether the server is reached at one URL per tenant.
    public var isPerTenant: Bool {
        switch transport {
        case .sse(let endpoint), .streamableHTTP(let endpoint): endpoint.url.contains(Self.tenantPlaceholder)
        case .stdio: false
        }
    }

    public init(
        name: String, transport: ServerTransport, disabledTools: Set<String> = [], enabledTools: Set<String>? = nil,
        callTimeoutSeconds: Double? = nil, oauth: JSON? = nil, clientHeaderForwarding: JSON? = nil,
        rawConfig: JSON = [:]
    ) {
        self.name = name
        self.transport = transport
        self.disabledTools = disabledTools
        self.enabledTools = enabledTools
        self.callTimeoutSeconds = callTimeoutSeconds
        self.oauth = oauth
        self.clientHeaderForwarding = clientHeaderForwarding
        self.rawConfig = rawConfig
    }

    /// The bound on one call of `tool`: the tool's own, else the server's, else `fallback`.
    public func timeout(forTool tool: String, fallback: Double) -> Double {
        toolTimeoutSeconds[tool] ?? callTimeoutSeconds ?? fallback
    }

    /// Whether a tool of this server is served.
    public func serves(tool: String) -> Bool {
        if disabledTools.contains(tool) { return false }
        if let enabledTools { return enabledTools.contains(tool) }
        return true
    }

    public static func == (lhs: ServerEntry, rhs: ServerEntry) -> Bool {
        lhs.name == rhs.name && lhs.transport == rhs.transport && lhs.disabledTools == rhs.disabledTools
            && lhs.enabledTools == rhs.enabledTools && lhs.callTimeoutSeconds == rhs.callTimeoutSeconds
            && lhs.toolTimeoutSeconds == rhs.toolTimeoutSeconds && lhs.maxConcurrentCalls == rhs.maxConcurrentCalls
            && equivalent(lhs.oauth, rhs.oauth) && equivalent(lhs.clientHeaderForwarding, rhs.clientHeaderForwarding)
            && equivalent(lhs.rawConfig, rhs.rawConfig) && lhs.access == rhs.access
    }
}

/// JSON equality that ignores the order of object members (arrays stay ordered).
private func equivalent(_ lhs: JSON?, _ rhs: JSON?) -> Bool {
    switch (lhs, rhs) {
    case (nil, nil):
        return true
    case (.object(let left)?, .object(let right)?):
        guard left.count == right.count else { return false }
        return left.allSatisfy { key, value in right[key].map { equivalent(value, $0) } ?? false }
    case (.array(let left)?, .array(let right)?):
        return left.count == right.count && zip(left, right).allSatisfy { equivalent($0, $1) }
    case (let left?, let right?):
        return left == right
    default:
        return false
    }
}

/// What the documents say of a server beyond its tools, and what the proxy answers the server's own questions.
public struct ServerFeatureSettings: Sendable, Equatable {
    /// The documents describe `GET /resources` and `GET /resources/read` (`exposeResources`, `--expose-resources`).
    public var exposeResources = false
    /// The documents describe `GET /prompts` and `POST /prompts/<name>` (`exposePrompts`, `--expose-prompts`).
    public var exposePrompts = false
    /// What `roots/list` answers (`roots`); none by default, and then the proxy declares no roots capability.
    public var roots: [ServerRoot] = []
    /// Whether the server's questions during a call (`elicitation/create`) go to the caller (409 and a continuation)
    /// (`elicitation: true`, `--elicitation`); off, the proxy declares no elicitation capability and the server does
    /// not ask. Off by default: each call of such a server then runs in a task of its own, which costs the plain path.
    public var elicitation = false

    public init(
        exposeResources: Bool = false, exposePrompts: Bool = false, roots: [ServerRoot] = [], elicitation: Bool = false
    ) {
        self.exposeResources = exposeResources
        self.exposePrompts = exposePrompts
        self.roots = roots
        self.elicitation = elicitation
    }
}

/// One entry of `roots`: a `file://` URI the server may work in, and its name.
public struct ServerRoot: Sendable, Equatable {
    public var uri: String
    public var name: String?

    public init(uri: String, name: String? = nil) {
        self.uri = uri
        self.name = name
    }
}

/// `isolation`, `isolationIdleSeconds`, `maxInstances`: whether a stdio server runs one process per caller.
public struct ServerIsolation: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable {
        /// One process serves every caller (the default, as mcpo).
        case none
        /// One process per caller identity, its `env` templates filled from that identity.
        case user
    }

    public var mode: Mode
    /// Seconds a caller's process may stay without calls before it is stopped.
    public var idleSeconds: Double
    /// Processes at once at most; a new caller beyond them gets 503.
    public var maxInstances: Int

    public init(mode: Mode = .none, idleSeconds: Double = 600, maxInstances: Int = 50) {
        self.mode = mode
        self.idleSeconds = idleSeconds
        self.maxInstances = maxInstances
    }
}
