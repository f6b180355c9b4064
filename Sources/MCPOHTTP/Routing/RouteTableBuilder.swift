import JSONValue
import MCPBridge
import MCPClient
import MCPOConfig

/// Builds route tables from what the upstream servers serve now.
struct RouteTableBuilder {
    let settings: ProxySettings
    let assets: DocsAssets

    private(set) var endpoints: [String: Endpoint] = [:]

    init(settings: ProxySettings, assets: DocsAssets) {
        self.settings = settings
        self.assets = assets
    }

    /// The document's `info` for one server: flags win, then what the server says about itself (as mcpo).
    func info(for server: ServerIdentity) -> OpenAPIInfo {
        OpenAPIInfo(
            title: settings.title ?? server.name,
            description: settings.description ?? server.instructions ?? "\(server.name) MCP Server",
            version: settings.version ?? server.version)
    }

    /// Mounts one server's tools and its documents under `prefix` ("" in single-server mode).
    mutating func mount(
        server: UpstreamServer, snapshot: UpstreamSnapshot, prefix: String, callTimeout: Double
    ) -> [String] {
        var problems: [String] = []
        var definitions: [ToolDefinition] = []
        for tool in snapshot.tools {
            do {
                definitions.append(try ToolDefinition(json: tool))
            } catch {
                problems.append("[\(server.name)] skipped a tool: \(error)")
            }
        }
        let catalog = ToolCatalog(tools: definitions)
        for operation in catalog.operations {
            endpoints[prefix + operation.path] = .tool(
                ToolEndpoint(operation: operation, server: server, callTimeout: callTimeout))
        }
        let serversURL = settings.rootPath + prefix
        let document = OpenAPIGenerator.document(
            options: OpenAPIOptions(
                info: info(for: snapshot.server),
                servers: serversURL.isEmpty ? [] : [serversURL],
                apiKeyRequired: !settings.apiKeys.isEmpty),
            sections: [
                OpenAPISection(pathPrefix: "", componentPrefix: "", operationIdPrefix: "", catalog: catalog, tag: nil)
            ])
        addDocuments(at: prefix, title: info(for: snapshot.server).title, document: document)
        return problems
    }

    /// `/openapi.json`, `/docs`, `/docs/oauth2-redirect` and `/redoc` under `prefix`.
    mutating func addDocuments(at prefix: String, title: String, document: JSON) {
        let root = settings.rootPath
        let openAPIURL = root + prefix + "/openapi.json"
        endpoints[prefix + "/openapi.json"] = .page(
            StaticPage(bytes: document.bytes, contentType: "application/json"))
        endpoints[prefix + "/docs"] = .page(
            StaticPage(
                html: DocsPages.swaggerUI(
                    title: title, openAPIURL: openAPIURL, docsURL: root + prefix + "/docs", assets: assets,
                    rootPath: root)))
        endpoints[prefix + "/docs/oauth2-redirect"] = .page(StaticPage(html: DocsPages.oauth2Redirect))
        endpoints[prefix + "/redoc"] = .page(
            StaticPage(html: DocsPages.redoc(title: title, openAPIURL: openAPIURL, assets: assets, rootPath: root)))
    }

    /// Local Swagger UI and ReDoc files, when `--docs-assets` is given.
    mutating func addAssets() {
        for (name, bytes) in assets.localFiles {
            endpoints[DocsAssets.routePrefix + name] = .page(
                StaticPage(bytes: bytes, contentType: DocsAssets.contentType(of: name)))
        }
    }

    func build() -> RouteTable {
        RouteTable(endpoints: endpoints)
    }
}
