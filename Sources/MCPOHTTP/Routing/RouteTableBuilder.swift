import JSONValue
import MCPBridge
import MCPClient
import MCPOConfig

/// Builds route tables from what the upstream servers serve now.
struct RouteTableBuilder {
    let settings: ProxySettings
    let assets: DocsAssets

    private var endpoints: [String: Endpoint] = [:]
    private var unavailableMounts: [String: MountedServer] = [:]
    private(set) var sections: [OpenAPIDocumentPage.Source] = []
    /// Every scope some server's `toolScopes` names (RFC 9728's `scopes_supported`).
    private var scopes: [String] = []
    private(set) var problems: [String] = []
    /// The aggregated MCP endpoint (`/mcp` in config mode), server by server.
    private var aggregatedMCP = MCPMountBuilder(aggregated: true)

    /// Whether tool routes need a credential (the documents then declare it).
    let credentialsRequired: Bool
    /// Metrics, pins: what endpoints get from the accountability services.
    let services: GovernanceServices?

    init(
        settings: ProxySettings, assets: DocsAssets, credentialsRequired: Bool? = nil,
        services: GovernanceServices? = nil
    ) {
        self.settings = settings
        self.assets = assets
        self.credentialsRequired = credentialsRequired ?? !settings.apiKeys.isEmpty
        self.services = services
    }

    /// Mounts one server's tools and documents at its prefix. A server without a snapshot (never connected)
    /// gets a document without paths and a 503 for everything under its mount point.
    ///
    /// `flagsOverrideInfo`: in single-server mode `--name/--description/--version` win over what the server
    /// says about itself; in config mode they describe the root document instead.
    mutating func mount(_ server: MountedServer, defaultTimeout: Double, flagsOverrideInfo: Bool) {
        let prefix = server.prefix
        addOAuthRoutes(for: server)
        guard let snapshot = server.snapshot else {
            unavailableMounts[prefix] = server
            var reason = server.upstream.status.lastError.map { "\n\nNot connected: \($0)" } ?? ""
            if let binding = server.oauth {
                let root = settings.rootPath
                if binding.multiUser {
                    let link = root + OAuthRoute.urlPath(server: server.name, kind: .authorize)
                    reason =
                        "\n\nEvery user authorizes with their own account: the tools appear once a user has signed "
                        + "in at [\(root)/oauth/\(server.name)/authorize](\(link))."
                } else if case .awaitingAuthorization = server.upstream.status.state {
                    let link = root + OAuthRoute.urlPath(server: server.name, kind: .status)
                    reason = "\n\nOAuth authorization required: see [\(root)/oauth/\(server.name)/status](\(link))."
                }
            }
            let info = OpenAPIInfo(
                title: server.name, description: "\(server.name) MCP Server\(reason)", version: "1.0")
            addDocuments(at: prefix, title: server.name, document: document(info: info, prefix: prefix, sources: []))
            return
        }
        let governance = server.entry.governance
        let review =
            services?.pins?.review(server: server.name, mode: governance.pinTools, tools: snapshot.tools)
            ?? PinBook.Review(served: snapshot.tools, blocked: [:], unreadable: false)
        var definitions: [ToolDefinition] = []
        for tool in review.served {
            do {
                definitions.append(try ToolDefinition(json: tool))
            } catch {
                problems.append("[\(server.name)] skipped a tool: \(error)")
            }
        }
        let policy = ToolPolicy(
            riskRules: governance.toolRisk, confirm: governance.confirm, changedTools: Set(review.blocked.keys))
        let features =
            (snapshot.offersResources ? ServerFeatures.resourceOperations() : [])
            + (snapshot.offersPrompts ? ServerFeatures.promptOperations(snapshot.prompts) : [])
        let routed = ToolCatalog(tools: definitions, policy: policy, features: features)
        var toolEndpoints: [ToolEndpoint] = []
        for operation in routed.operations {
            let timeout = server.entry.timeout(forTool: operation.tool.name, fallback: defaultTimeout)
            let endpoint = ToolEndpoint(
                operation: operation, server: server, callTimeout: timeout,
                metrics: services?.metrics?.tool(server: server.name, tool: operation.tool.name),
                blockedPin: review.blocked[operation.tool.name], pinsUnreadable: review.unreadable)
            toolEndpoints.append(endpoint)
            endpoints[prefix + operation.path] = .tool(endpoint)
            if governance.pinTools != .off, operation.kind == .tool {
                endpoints[GovernanceRoute.approvePath(server: server.name, tool: operation.tool.name)] = .governance(
                    .approvePin(server: server.name, tool: operation.tool.name))
            }
        }
        // Every route is served; the documents describe resources and prompts only when the entry says so.
        let exposed = server.entry.features
        let catalog = routed.keeping { operation in
            switch operation.kind {
            case .tool: true
            case .resourceList, .resourceRead: exposed.exposeResources
            case .promptList, .prompt: exposed.exposePrompts
            }
        }
        addMCPEndpoint(for: server, snapshot: snapshot, endpoints: toolEndpoints, tools: review.served)
        let info = serverInfo(snapshot.server, flagsOverrideInfo: flagsOverrideInfo)
        let section = OpenAPISection(
            pathPrefix: "", componentPrefix: "", operationIdPrefix: "", catalog: catalog, tag: nil)
        addDocuments(
            at: prefix, title: info.title,
            document: document(info: info, prefix: prefix, sources: [.init(section: section, server: server)]))
        sections.append(
            .init(
                section: OpenAPISection(
                    pathPrefix: prefix, componentPrefix: server.name + "_", operationIdPrefix: server.name + "_",
                    catalog: catalog, tag: server.name),
                server: server))
        for scope in server.toolScopes.allScopes where !scopes.contains(scope) { scopes.append(scope) }
    }

    /// `/<server>/mcp` (`/mcp` in single-server mode), with the server's own names; and its part of the aggregated
    /// endpoint. A tool of that name keeps its route.
    private mutating func addMCPEndpoint(
        for server: MountedServer, snapshot: UpstreamSnapshot, endpoints served: [ToolEndpoint], tools: [JSON]
    ) {
        var own = MCPMountBuilder(aggregated: false)
        own.add(server, endpoints: served, tools: tools, prompts: snapshot.prompts)
        aggregatedMCP.add(server, endpoints: served, tools: tools, prompts: snapshot.prompts)
        let path = server.prefix + MCPEndpointRoute.path
        guard endpoints[path] == nil else { return }
        defer { addLegacyMCPPaths(at: path) }
        var info: OrderedJSONObject = [
            "name": .string(snapshot.server.name),
            "version": .string(snapshot.server.version.isEmpty ? "1.0" : snapshot.server.version),
        ]
        if let title = snapshot.server.title { info["title"] = .string(title) }
        endpoints[path] = .mcp(
            own.build(path: path, serverInfo: .object(info), instructions: snapshot.server.instructions),
            .streamableHTTP)
    }

    /// Config mode's `/mcp`: every connected server's tools, prompts and resources, named `<server>_<name>`.
    mutating func addAggregatedMCPEndpoint() {
        let info: JSON = [
            "name": .string(settings.title ?? "mcpo"), "version": .string(settings.version ?? "1.0"),
        ]
        // A server named `mcp` keeps its tools' routes (`/mcp/<tool>`).
        guard endpoints[MCPEndpointRoute.path] == nil else { return }
        endpoints[MCPEndpointRoute.path] = .mcp(
            aggregatedMCP.build(path: MCPEndpointRoute.path, serverInfo: info, instructions: settings.description),
            .streamableHTTP)
        addLegacyMCPPaths(at: MCPEndpointRoute.path)
    }

    /// `<endpoint>/sse` and `<endpoint>/messages`: the same endpoint over the 2024-11-05 HTTP+SSE transport (where
    /// no tool has the path).
    private mutating func addLegacyMCPPaths(at path: String) {
        guard case .mcp(let mount, _)? = endpoints[path] else { return }
        for (suffix, transport) in [
            (MCPTransport.legacyStreamSuffix, MCPTransport.legacyStream),
            (MCPTransport.legacyMessagesSuffix, .legacyMessages),
        ] where endpoints[path + suffix] == nil {
            endpoints[path + suffix] = .mcp(mount, transport)
        }
    }

    /// `/oauth/<name>/status`, `/callback` and `/authorize` of an OAuth server, at the root in every mode.
    private mutating func addOAuthRoutes(for server: MountedServer) {
        guard let binding = server.oauth else { return }
        for kind in OAuthRoute.Kind.allCases {
            endpoints[OAuthRoute.path(server: server.name, kind: kind)] = .oauth(
                OAuthRoute(kind: kind, binding: binding))
        }
    }

    /// The document's `info` for one server: flags (when they apply), then what the server says (as mcpo).
    private func serverInfo(_ server: ServerIdentity, flagsOverrideInfo: Bool) -> OpenAPIInfo {
        let own = OpenAPIInfo(
            title: server.name, description: server.instructions ?? "\(server.name) MCP Server",
            version: server.version.isEmpty ? "1.0" : server.version)
        guard flagsOverrideInfo else { return own }
        return OpenAPIInfo(
            title: settings.title ?? own.title, description: settings.description ?? own.description,
            version: settings.version ?? own.version)
    }

    private func document(info: OpenAPIInfo, prefix: String, sources: [OpenAPIDocumentPage.Source])
        -> OpenAPIDocumentPage
    {
        OpenAPIDocumentPage(
            options: OpenAPIOptions(info: info, apiKeyRequired: credentialsRequired), mount: settings.rootPath + prefix,
            sources: sources)
    }

    /// Config mode's root documents: every connected server's tools under `/<prefix><name>/`, and links to
    /// each server's own page.
    mutating func addAggregatedRootDocuments(servers: [MountedServer]) {
        var description = settings.description ?? "Automatically generated API from MCP Tool Schemas"
        if !servers.isEmpty {
            description += "\n\n- **available tools**："
            for server in servers {
                let state = server.snapshot == nil ? " (not connected)" : ""
                description += "\n    - [\(server.name)](\(settings.rootPath)\(server.prefix)/docs)\(state)"
            }
        }
        let info = OpenAPIInfo(
            title: settings.title ?? "MCP OpenAPI Proxy", description: description, version: settings.version ?? "1.0")
        let document = OpenAPIDocumentPage(
            options: OpenAPIOptions(info: info, apiKeyRequired: credentialsRequired), mount: settings.rootPath,
            sources: sections)
        addDocuments(at: "", title: info.title, document: document)
    }

    /// `/openapi.json`, `/openapi-3.0.json`, `/docs`, `/docs/oauth2-redirect` and `/redoc` under `prefix`.
    mutating func addDocuments(at prefix: String, title: String, document: OpenAPIDocumentPage) {
        let root = settings.rootPath
        let openAPIURL = root + prefix + "/openapi.json"
        endpoints[prefix + "/openapi.json"] = .document(document, .openAPI31)
        endpoints[prefix + "/openapi-3.0.json"] = .document(document, .openAPI30)
        endpoints[prefix + "/docs"] = .page(
            StaticPage(
                html: DocsPages.swaggerUI(
                    title: title, openAPIURL: openAPIURL, docsURL: root + prefix + "/docs", assets: assets,
                    rootPath: root)))
        endpoints[prefix + "/docs/oauth2-redirect"] = .page(StaticPage(html: DocsPages.oauth2Redirect))
        endpoints[prefix + "/redoc"] = .page(
            StaticPage(html: DocsPages.redoc(title: title, openAPIURL: openAPIURL, assets: assets, rootPath: root)))
    }

    /// `/healthz` (the process is up) and `/readyz` (per-server state).
    mutating func addHealth(readiness: @escaping @Sendable () -> HTTPAnswer) {
        // A tool of the same name (single-server mode) keeps its route.
        if endpoints["/healthz"] == nil {
            endpoints["/healthz"] = .status({ HTTPAnswer(status: 200, body: ["status": "ok"]) })
        }
        if endpoints["/readyz"] == nil { endpoints["/readyz"] = .status(readiness) }
    }

    /// `/metrics`, `/audit` and `/audit/stats` (each answers as its own rules say; see `GovernanceRoute`).
    mutating func addGovernance() {
        for route in [GovernanceRoute.metrics, .audit, .auditStats] where endpoints[route.path] == nil {
            endpoints[route.path] = .governance(route)
        }
    }

    /// Local Swagger UI and ReDoc files, when `--docs-assets` is given.
    mutating func addAssets() {
        for (name, bytes) in assets.localFiles {
            endpoints[DocsAssets.routePrefix + name] = .page(
                StaticPage(bytes: bytes, contentType: DocsAssets.contentType(of: name)))
        }
    }

    func build() -> RouteTable {
        RouteTable(endpoints: endpoints, unavailableMounts: unavailableMounts, scopes: scopes)
    }
}
