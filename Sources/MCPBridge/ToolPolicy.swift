import JSONValue
import MCPOConfig

/// What a server's configuration says of its tools beyond their definitions: risk overrides, which risks need
/// confirmation, and which tools are served as approved while a changed definition waits.
public struct ToolPolicy: Sendable {
    /// Tool-name globs and the risk they set, first match deciding (`toolRisk`).
    public var riskRules: [(glob: String, risk: ToolRisk)]
    /// Tools of this risk or higher take a confirmation field; nil: none do.
    public var confirm: ToolRisk?
    /// Tools whose served definition is the approved one while the server lists another (`x-mcp-pin: changed`).
    public var changedTools: Set<String>

    public init(
        riskRules: [(glob: String, risk: ToolRisk)] = [], confirm: ToolRisk? = nil, changedTools: Set<String> = []
    ) {
        self.riskRules = riskRules
        self.confirm = confirm
        self.changedTools = changedTools
    }

    public static let none = ToolPolicy()

    /// A tool's risk: the first `toolRisk` glob that matches; else `low` for `readOnlyHint: true`, `high` for
    /// `destructiveHint: true`, `medium` otherwise.
    public func risk(of tool: ToolDefinition) -> ToolRisk {
        if let rule = riskRules.first(where: { Glob.matches($0.glob, tool.name) }) { return rule.risk }
        return Self.annotatedRisk(of: tool)
    }

    /// The risk the tool's annotations say: read-only is low, destructive is high, anything else medium.
    public static func annotatedRisk(of tool: ToolDefinition) -> ToolRisk {
        if tool.annotations?["readOnlyHint"]?.boolValue == true { return .low }
        if tool.annotations?["destructiveHint"]?.boolValue == true { return .high }
        return .medium
    }

    /// The body field that confirms a call of `tool` (`confirm`, or `mcpo_confirm` when the tool has its own
    /// `confirm`); nil when its risk needs none.
    public func confirmField(for tool: ToolDefinition, risk: ToolRisk) -> String? {
        guard let confirm, risk >= confirm else { return nil }
        return tool.inputSchema["properties"]?["confirm"] == nil ? "confirm" : "mcpo_confirm"
    }
}
