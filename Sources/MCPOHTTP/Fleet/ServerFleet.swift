import JSONValue
import Logging
import MCPBridge
import MCPClient
import MCPOAuth
import MCPOConfig
import Synchronization

/// Every upstream server the proxy serves, and the route table built from them.
///
/// Any change (a server connects, its tools change, a reload adds or removes servers) rebuilds the whole
/// table and swaps it in at once, under one lock so that an older table never replaces a newer one.
final class ServerFleet: Sendable {
    enum Layout: Sendable {
        /// One server at the root; `--name/--description/--version` override its own description.
        case single
        /// Each server under `<pathPrefix><name>`, plus an aggregated root document.
        case config(pathPrefix: String)
    }

    let routes = RouteTableStore()
    /// The MCP endpoint's sessions and listeners, told of each new table.
    let mcpSessions = MCPSessions()
    private let settings: ProxySettings
    private let assets: DocsAssets
    private let layout: Layout
    private let logger: Logger
    private let mounted = Mutex<[MountedServer]>([])
    private let rebuilding = Mutex(())
    /// Where the proxy listens, once it does (the OAuth callback URL needs the port `--port 0` picked).
    let listening = ListeningAddress()
    /// The HTTP client of every OAuth request (made with the first OAuth server).
    private let oauthHTTP = Mutex<OAuthHTTPClient?>(nil)
    /// Who may call (the store is the pipeline's; its check is replaced on reloads that change `auth`).
    private let credentials = Mutex<CredentialCheckStore?>(nil)

    /// The stages its servers' calls pass.
    let pipeline: ToolCallPipeline

    init(settings: ProxySettings, assets: DocsAssets, layout: Layout, pipeline: ToolCallPipeline, logger: Logger) {
        self.settings = settings
        self.assets = assets
        self.layout = layout
        self.pipeline = pipeline
        self.logger = logger
        credentials.withLock { $0 = pipeline.settings.credentials }
    }

    var servers: [MountedServer] { mounted.withLock { $0 } }

    // MARK: - Building servers

    /// A new server for `entry`, mounted where the layout puts it, rebuilding routes when it changes.
    func makeServer(for entry: ServerEntry) -> MountedServer {
        let (settings, logger) = (self.settings, self.logger)
        let makeFor: @Sendable (ServerEntry, (any UpstreamAuthorizer)?) -> any ToolUpstream = { entry, authorizer in
            UpstreamServer(
                entry: entry, client: ProxyServer.clientIdentity, startupTimeout: settings.startupTimeoutSeconds,
                logger: logger, limits: UpstreamLimits(maxMessageBytes: settings.maxResponseBytes),
                authorizer: authorizer)
        }
        let perUser = entry.isolation.mode == .user
        // A per-user server's own process lists the tools; it runs without the caller-templated variables.
        let own = perUser ? entry.withoutIdentityTemplates : entry
        let make: @Sendable ((any UpstreamAuthorizer)?) -> any ToolUpstream = { makeFor(own, $0) }
        let binding = oauthBinding(for: entry, makeUpstream: make)
        let upstream = make(binding.flatMap { $0.multiUser ? nil : $0.authorizer() })
        let prefix: String
        switch layout {
        case .single: prefix = ""
        case .config(let pathPrefix): prefix = pathPrefix + entry.name
        }
        let gate = CallGate(
            limit: entry.maxConcurrentCalls ?? settings.maxConcurrentCalls, queueLimit: settings.maxQueuedCalls)
        let tenants = entry.isPerTenant ? TenantSessions(entry: entry, make: { makeFor($0, nil) }) : nil
        let users = perUser ? UserInstances(entry: entry, logger: logger, make: { makeFor($0, nil) }) : nil
        let server = MountedServer(
            upstream: upstream, prefix: prefix, gate: gate, pipeline: pipeline, oauth: binding, tenants: tenants,
            users: users)
        tenants?.observe { [weak self, weak server] in
            guard let self, let server, self.isMounted(server) else { return }
            self.rebuildRoutes()
        }
        upstream.observe { [weak self, weak server] _ in
            guard let self, let server, self.isMounted(server) else { return }
            self.rebuildRoutes()
        }
        binding?.users?.observe { [weak self, weak server] in
            guard let self, let server, self.isMounted(server) else { return }
            self.rebuildRoutes()
        }
        return server
    }

    /// The OAuth client of a streamable HTTP entry with an `oauth` object (checked at load: see
    /// `OAuthConfig.check`), else nil.
    private func oauthBinding(
        for entry: ServerEntry, makeUpstream: @escaping @Sendable ((any UpstreamAuthorizer)?) -> any ToolUpstream
    ) -> OAuthBinding? {
        guard case .streamableHTTP(let endpoint) = entry.transport else { return nil }
        let parsed: OAuthSettings?
        do {
            parsed = try OAuthSettings.from(entry: entry)
        } catch {
            logger.error("\(error); serving the server without OAuth")
            return nil
        }
        guard let parsed else { return nil }
        let http = oauthHTTP.withLock { client in
            if let client { return client }
            let made = OAuthHTTPClient(client: UpstreamHTTPClient.makeOAuthClient())
            client = made
            return made
        }
        let (listening, settings, name) = (self.listening, self.settings, entry.name)
        return OAuthBinding(
            name: entry.name, settings: parsed, endpointURL: endpoint.url, http: http,
            callbackURL: { await listening.callbackURL(server: name, settings: settings) }, logger: logger,
            metrics: pipeline.settings.services.metrics, shared: pipeline.settings.services.sharedOAuth,
            makeUpstream: { makeUpstream($0) })
    }

    /// Closes the OAuth HTTP client; call once at exit, after every server is stopped.
    func shutdownOAuthClient() async {
        let client = oauthHTTP.withLock { client in
            defer { client = nil }
            return client
        }
        try? await client?.client.shutdown()
    }

    private func isMounted(_ server: MountedServer) -> Bool {
        mounted.withLock { list in list.contains { $0 === server } }
    }

    /// Replaces the set of mounted servers and rebuilds the routes.
    func setServers(_ servers: [MountedServer]) {
        mounted.withLock { $0 = servers }
        rebuildRoutes()
    }

    func rebuildRoutes() {
        rebuilding.withLock { _ in
            let servers = self.servers
            let check = credentials.withLock { $0 }?.check
            var builder = RouteTableBuilder(
                settings: settings, assets: assets,
                credentialsRequired: check.map { $0.authenticator.requiresCredentials },
                services: pipeline.settings.services)
            for server in servers {
                builder.mount(server, defaultTimeout: settings.callTimeoutSeconds, flagsOverrideInfo: isSingle)
            }
            if case .config = layout {
                builder.addAggregatedRootDocuments(servers: servers)
                builder.addAggregatedMCPEndpoint()
            }
            builder.addHealth(readiness: { [weak self] in self?.readiness() ?? StandardAnswers.notFound })
            builder.addAssets()
            builder.addGovernance()
            for problem in builder.problems { logger.warning("\(problem)") }
            let earlier = routes.table
            let table = builder.build()
            routes.replace(with: table)
            mcpSessions.tablesChanged(from: earlier, to: table)
        }
    }

    private var isSingle: Bool {
        if case .single = layout { return true }
        return false
    }

    /// What `/metrics` reads of each server when scraped.
    func readings() -> [ProxyMetrics.ServerReading] {
        servers.map { server in
            let status = server.upstream.status
            let up: Bool
            if server.tenants != nil || server.oauth?.multiUser == true {
                up = true  // sessions per tenant or user: the server itself has no connection of its own
            } else if case .connected = status.state {
                up = true
            } else {
                up = false
            }
            return ProxyMetrics.ServerReading(
                server: server.name, up: up, callsInFlight: server.callsInFlight, callsQueued: server.gate.queued,
                restarts: status.reconnections)
        }
    }

    // MARK: - Readiness

    /// 200 when the proxy can serve: every server has finished its first attempt and at least one is
    /// connected (or none is configured); 503 otherwise. The body has every server's state either way.
    func readiness() -> HTTPAnswer {
        var report = OrderedJSONObject()
        var anyConnected = false
        var anyStarting = false
        for server in servers {
            let status = server.upstream.status
            var entry: OrderedJSONObject = ["type": .string(server.entry.transport.kindName)]
            if let binding = server.oauth, binding.multiUser {
                // Up: every user connects with their own account.
                anyConnected = true
                entry["state"] = "multi_user"
                entry["tools"] = .int(server.snapshot?.tools.count ?? 0)
                entry["userSessions"] = .int(binding.users?.count ?? 0)
                entry["authorize"] = .string(
                    settings.rootPath + OAuthRoute.urlPath(server: server.name, kind: .authorize))
                entry["callsInFlight"] = .int(server.callsInFlight)
                entry["callsQueued"] = .int(server.gate.queued)
                report[server.name] = .object(entry)
                continue
            }
            if let tenants = server.tenants {
                // Up: every tenant connects its own session on its first call.
                anyConnected = true
                entry["state"] = "per_tenant"
                entry["tools"] = .int(server.snapshot?.tools.count ?? 0)
                entry["tenantSessions"] = .int(tenants.count)
                entry["callsInFlight"] = .int(server.callsInFlight)
                entry["callsQueued"] = .int(server.gate.queued)
                report[server.name] = .object(entry)
                continue
            }
            var state = status.state
            if case .connected = state, let awaited = server.oauth?.awaitedAuthorization, awaited.waiting {
                // Connected, but the token was refused and could not be refreshed: calls answer 401 with the link.
                state = .awaitingAuthorization(url: awaited.url ?? "")
            }
            switch state {
            case .starting:
                anyStarting = true
                entry["state"] = "starting"
            case .connected:
                anyConnected = true
                entry["state"] = "connected"
            case .reconnecting(let lastError, let nextAttemptIn):
                entry["state"] = "reconnecting"
                entry["error"] = .string(lastError)
                entry["retryInSeconds"] = .double(nextAttemptIn)
            case .failed(let reason):
                entry["state"] = "failed"
                entry["error"] = .string(reason)
            case .awaitingAuthorization(let url):
                entry["state"] = "awaiting_authorization"
                if let link = server.oauth?.awaitedAuthorization.url ?? (url.isEmpty ? nil : url) {
                    entry["authorizationURL"] = .string(link)
                }
                entry["status"] = .string(settings.rootPath + OAuthRoute.urlPath(server: server.name, kind: .status))
            case .stopped:
                entry["state"] = "stopped"
            }
            entry["tools"] = .int(status.toolCount)
            if let name = status.serverName { entry["serverName"] = .string(name) }
            if let version = status.protocolVersion { entry["protocolVersion"] = .string(version) }
            entry["callsInFlight"] = .int(server.callsInFlight)
            entry["callsQueued"] = .int(server.gate.queued)
            if let users = server.users {
                entry["isolation"] = "user"
                entry["instances"] = .int(users.count)
                entry["maxInstances"] = .int(users.entry.isolation.maxInstances)
            }
            if case .connected = status.state {
            } else if !status.recentStderr.isEmpty {
                // What a crashing server said last is usually why it crashes.
                entry["recentStderr"] = .array(status.recentStderr.map(JSON.string))
            }
            report[server.name] = .object(entry)
        }
        let ready = !anyStarting && (anyConnected || report.isEmpty)
        var body: OrderedJSONObject = ["ready": .bool(ready), "servers": .object(report)]
        // The MCP endpoint's open sessions (handshake revisions and HTTP+SSE).
        body["mcpSessions"] = .int(mcpSessions.count)
        if let check = credentials.withLock({ $0 })?.check, check.authenticator.hasIssuers {
            // Their tokens are refused while their keys cannot be had; the servers serve the other callers meanwhile.
            var issuers = OrderedJSONObject()
            for health in check.authenticator.issuerHealth {
                var entry: OrderedJSONObject = ["state": health.up ? "up" : "down"]
                if let error = health.error { entry["error"] = .string(error) }
                issuers[health.issuer] = .object(entry)
            }
            body["identityProviders"] = .object(issuers)
        }
        if let store = pipeline.settings.services.storeHealth {
            // A store that fails does not make the proxy unready: calls go on, records are held meanwhile.
            var entry: OrderedJSONObject = ["name": .string(store.name), "state": store.up ? "up" : "down"]
            if let error = store.error { entry["error"] = .string(error) }
            body["store"] = .object(entry)
        }
        return HTTPAnswer(status: ready ? 200 : 503, body: .object(body))
    }

    // MARK: - Stopping

    /// Waits (bounded) for the server's calls in flight, then stops it.
    func retire(_ server: MountedServer) async {
        let grace = Duration.milliseconds(Int64(settings.shutdownGraceSeconds * 1000))
        if !(await server.drain(within: grace)) {
            logger.warning("[\(server.name)] stopping with \(server.callsInFlight) calls still in flight")
        }
        await server.shutdown()
    }

    func shutdownAll() async {
        let servers = self.servers
        await withTaskGroup(of: Void.self) { group in
            for server in servers {
                group.addTask { await server.shutdown() }
            }
        }
    }
}
