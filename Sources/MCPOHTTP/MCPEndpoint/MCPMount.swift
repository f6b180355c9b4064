import JSONValue
import MCPBridge
import MCPClient

/// What one MCP endpoint (`/mcp`, `/<server>/mcp`) serves at one moment: its tools, prompts and resources under the
/// endpoint's names, each with the REST operation (and so the call stages) that runs it. Made with the route table
/// and swapped with it.
final class MCPMount: Sendable {
    /// A tool or a prompt under the endpoint's name.
    struct Entry: Sendable {
        let name: String
        /// Its definition as the endpoint lists it.
        let listing: JSON
        let endpoint: ToolEndpoint
    }

    /// A server's resources: its listing and reading operations.
    struct Resources: Sendable {
        let list: ToolEndpoint
        let read: ToolEndpoint
    }

    let path: String
    /// `serverInfo`: the server's own (one server), or the proxy's (aggregated).
    let serverInfo: JSON
    let instructions: String?
    let tools: [Entry]
    let prompts: [Entry]
    let resources: [Resources]
    /// The servers behind it.
    let servers: [MountedServer]
    private let toolIndex: [String: Int]
    private let promptIndex: [String: Int]

    init(
        path: String, serverInfo: JSON, instructions: String?, tools: [Entry], prompts: [Entry],
        resources: [Resources], servers: [MountedServer]
    ) {
        self.path = path
        self.serverInfo = serverInfo
        self.instructions = instructions
        self.tools = tools
        self.prompts = prompts
        self.resources = resources
        self.servers = servers
        self.toolIndex = Dictionary(tools.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.promptIndex = Dictionary(
            prompts.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func tool(named name: String) -> Entry? { toolIndex[name].map { tools[$0] } }
    func prompt(named name: String) -> Entry? { promptIndex[name].map { prompts[$0] } }

    /// What the endpoint offers, as `initialize` and `server/discover` declare it.
    var capabilities: JSON {
        var capabilities: OrderedJSONObject = ["tools": ["listChanged": true]]
        if !prompts.isEmpty || servers.contains(where: { $0.snapshot?.offersPrompts == true }) {
            capabilities["prompts"] = ["listChanged": true]
        }
        if !resources.isEmpty { capabilities["resources"] = [:] }
        return .object(capabilities)
    }

    /// What its clients are told changed since `earlier` (`notifications/tools/list_changed` and the prompts one).
    func changes(since earlier: MCPMount?) -> [MCPListChange] {
        guard let earlier else { return [] }
        var changes: [MCPListChange] = []
        if tools.map(\.listing) != earlier.tools.map(\.listing) { changes.append(.tools) }
        if prompts.map(\.listing) != earlier.prompts.map(\.listing) { changes.append(.prompts) }
        if resources.count != earlier.resources.count { changes.append(.resources) }
        return changes
    }
}

/// A list a client may be told changed.
enum MCPListChange: String, Sendable, CaseIterable {
    case tools, prompts, resources

    var notification: String { "notifications/\(rawValue)/list_changed" }
    /// Its member in a 2026-07-28 `subscriptions/listen` filter.
    var filterKey: String { "\(rawValue)ListChanged" }
}

/// Collects the endpoints while the route table is built: each server's own, and (config mode) the aggregated one
/// with `<server>_<name>` names.
struct MCPMountBuilder {
    private var tools: [MCPMount.Entry] = []
    private var prompts: [MCPMount.Entry] = []
    private var resources: [MCPMount.Resources] = []
    private var servers: [MountedServer] = []
    private var toolNames = MCPFaceNames()
    private var promptNames = MCPFaceNames()
    /// Aggregated: names take the server's as prefix.
    let aggregated: Bool

    init(aggregated: Bool) {
        self.aggregated = aggregated
    }

    /// Adds a server's operations (`endpoints`, in catalog order) with its definitions as it listed them.
    mutating func add(
        _ server: MountedServer, endpoints: [ToolEndpoint], tools definitions: [JSON], prompts promptDefinitions: [JSON]
    ) {
        servers.append(server)
        let prefix = aggregated ? server.name : nil
        var toolByName: [String: JSON] = [:]
        for definition in definitions {
            if let name = definition["name"]?.stringValue, toolByName[name] == nil { toolByName[name] = definition }
        }
        var promptByName: [String: JSON] = [:]
        for definition in promptDefinitions {
            if let name = definition["name"]?.stringValue, promptByName[name] == nil { promptByName[name] = definition }
        }
        var list: ToolEndpoint?
        var read: ToolEndpoint?
        for endpoint in endpoints {
            let operation = endpoint.operation
            switch operation.kind {
            case .tool:
                let name = toolNames.claim(server: prefix, name: operation.tool.name)
                let definition = toolByName[operation.tool.name] ?? ["name": .string(operation.tool.name)]
                tools.append(
                    .init(
                        name: name, listing: MCPFaceListing.tool(definition, named: name, operation: operation),
                        endpoint: endpoint))
            case .prompt(let original):
                let name = promptNames.claim(server: prefix, name: original)
                let definition = promptByName[original] ?? ["name": .string(original)]
                prompts.append(
                    .init(name: name, listing: MCPFaceListing.prompt(definition, named: name), endpoint: endpoint))
            case .resourceList: list = endpoint
            case .resourceRead: read = endpoint
            case .promptList: break
            }
        }
        if let list, let read { resources.append(.init(list: list, read: read)) }
    }

    func build(path: String, serverInfo: JSON, instructions: String?) -> MCPMount {
        MCPMount(
            path: path, serverInfo: serverInfo, instructions: instructions, tools: tools, prompts: prompts,
            resources: resources, servers: servers)
    }
}
