import MCPClient
import MCPOConfig
import MCPOIdentity
import Synchronization

/// One upstream server as the HTTP face serves it: where it is mounted and how many calls it has in flight.
///
/// The count lets a reload or a removal wait for calls in flight before the server is stopped.
final class MountedServer: Sendable {
    let upstream: any ToolUpstream
    /// The mount point: "" in single-server mode, "/<prefix><name>" in config mode.
    let prefix: String
    /// Bounds the calls running at once (`maxConcurrentCalls`) and those waiting (`--max-queued-calls`).
    let gate: CallGate
    /// OAuth toward the server (entries with an `oauth` object). Multi-user: `upstream` is never started; every
    /// user gets their own session from the binding.
    let oauth: OAuthBinding?
    /// A server reached at one URL per tenant: `upstream` is never started; every tenant gets its own session.
    let tenants: TenantSessions?
    /// `isolation: user`: every caller gets a process of its own; `upstream` only lists the tools.
    let users: UserInstances?
    /// The scopes a call of each tool needs (`toolScopes`).
    let toolScopes: ToolScopeRules
    /// The stages its tools' calls pass (`ToolCallPipeline`).
    let calls: CallChain
    /// The same stages for calls through the MCP endpoint.
    let mcpCalls: CallChain
    private let inFlight = Atomic<Int>(0)

    /// What decides which stages its calls pass.
    struct Shape: Sendable {
        var multiUserOAuth: Bool
        var hasToolScopes: Bool
        var perTenant: Bool
        var perUser = false
        var forwardsIdentity: Bool
        var rateLimited = false
        var pinsBlock = false
        var confirms = false
        var elicits = false
    }

    init(
        upstream: any ToolUpstream, prefix: String, gate: CallGate, pipeline: ToolCallPipeline,
        oauth: OAuthBinding? = nil, tenants: TenantSessions? = nil, users: UserInstances? = nil
    ) {
        self.upstream = upstream
        self.name = upstream.name
        self.prefix = prefix
        self.gate = gate
        self.oauth = oauth
        self.tenants = tenants
        self.users = users
        let access = upstream.entry.access
        self.toolScopes = ToolScopeRules(access.toolScopes)
        let shape = Shape(
            multiUserOAuth: oauth?.multiUser == true, hasToolScopes: !access.toolScopes.isEmpty,
            perTenant: tenants != nil, perUser: users != nil,
            forwardsIdentity: !access.forwardHeaders.isEmpty || access.forwardTokenAudience != nil,
            rateLimited: upstream.entry.governance.hasRateLimits,
            pinsBlock: upstream.entry.governance.pinTools == .block,
            confirms: upstream.entry.governance.confirm != nil, elicits: upstream.entry.features.elicitation)
        self.calls = pipeline.chain(for: shape)
        self.mcpCalls = pipeline.chain(for: shape, face: .mcp)
    }

    /// Kept, not read through the upstream's entry on every call.
    let name: String
    var entry: ServerEntry { upstream.entry }

    /// The tools served now: the server's, or (multi-user) those the latest user session listed.
    var snapshot: UpstreamSnapshot? { upstream.snapshot ?? oauth?.users?.snapshot ?? tenants?.snapshot }

    /// Whether the first connection attempt is still under way (a multi-user server has none of its own).
    var isStarting: Bool {
        if oauth?.multiUser == true || tenants != nil { return false }
        if case .starting = upstream.status.state { return true }
        return false
    }

    /// Starts the server in the background (supervised, reconnecting); a multi-user server starts nothing yet.
    func start() {
        oauth?.start()
        if oauth?.multiUser != true, tenants == nil { upstream.startInBackground() }
    }

    /// Stops the server for good, and its OAuth client (and user sessions).
    func shutdown() async {
        await upstream.shutdown()
        await oauth?.shutdown()
        await tenants?.shutdownAll()
        await users?.shutdownAll()
    }
    var callsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Runs `body` counted as a call in flight.
    func counting<T>(_ body: () async -> T) async -> T {
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        return await body()
    }

    /// Waits until no call is in flight, or until `bound` has passed; true when drained.
    func drain(within bound: Duration) async -> Bool {
        let deadline = ContinuousClock.now + bound
        while callsInFlight > 0 {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}
