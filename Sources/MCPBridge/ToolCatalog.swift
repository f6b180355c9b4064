import JSONValue
import MCPOConfig

/// The REST view of one server's tools: one operation per tool, in `tools/list` order.
public struct ToolCatalog: Sendable {
    public let operations: [ToolOperation]
    private let indexByPath: [String: Int]

    /// A second tool with an already listed name is left out: it could never be reached by its path. `features`
    /// (the server's resources and prompts operations) follow the tools; one whose path a tool has is left out.
    public init(tools: [ToolDefinition], policy: ToolPolicy = .none, features: [ToolOperation] = []) {
        var operations: [ToolOperation] = []
        var indexByPath: [String: Int] = [:]
        var operationIds = UniqueNames()
        for tool in tools {
            let path = "/" + tool.name
            guard indexByPath[path] == nil else { continue }
            indexByPath[path] = operations.count
            let risk = policy.risk(of: tool)
            operations.append(
                ToolOperation(
                    tool: tool, path: path, operationId: operationIds.claim(Naming.operationIdBase(forTool: tool.name)),
                    risk: risk, confirmField: policy.confirmField(for: tool, risk: risk),
                    pinChanged: policy.changedTools.contains(tool.name)))
        }
        for feature in features where indexByPath[feature.path] == nil {
            indexByPath[feature.path] = operations.count
            operations.append(feature)
        }
        self.operations = operations
        self.indexByPath = indexByPath
    }

    private init(operations: [ToolOperation]) {
        self.operations = operations
        var indexByPath: [String: Int] = [:]
        for (index, operation) in operations.enumerated() { indexByPath[operation.path] = index }
        self.indexByPath = indexByPath
    }

    /// The operations `include` keeps, with the same paths and operationIds (a document for one caller lists the
    /// tools it may call under the ids the whole document gives them).
    public func keeping(_ include: (ToolOperation) -> Bool) -> ToolCatalog {
        ToolCatalog(operations: operations.filter(include))
    }

    /// The operation served at `path` (`"/echo"`), compared exactly as the tool name was listed.
    public func operation(forPath path: String) -> ToolOperation? {
        indexByPath[path].map { operations[$0] }
    }
}

/// One tool as a REST operation.
public struct ToolOperation: Sendable {
    public let tool: ToolDefinition
    /// `"/"` + the raw tool name, e.g. `"/dash-name.v2"`.
    public let path: String
    /// `tool_<name>_post` as mcpo spells it, with `_2`, `_3` … appended when two names spell the same
    /// (`a-b` and `a_b`); the earlier tool in `tools/list` keeps the plain id.
    public let operationId: String
    /// A tool, or one of the server's resources and prompts routes.
    public let kind: OperationKind
    /// The input schema declares at least one property, so the operation takes a JSON body.
    public let hasBody: Bool
    /// At least one property is required, so an empty body is refused.
    public let bodyRequired: Bool
    public let validator: ArgumentValidator
    /// `toolRisk`'s, else what the annotations say.
    public let risk: ToolRisk
    /// The body field a call must set to `true` (the tool's risk needs confirmation); nil: none.
    public let confirmField: String?
    /// The definition served is the approved one; the server lists a changed one (`pinTools: block`).
    public let pinChanged: Bool

    init(
        tool: ToolDefinition, path: String, operationId: String, risk: ToolRisk = .medium,
        confirmField: String? = nil, pinChanged: Bool = false, kind: OperationKind = .tool
    ) {
        self.tool = tool
        self.kind = kind
        self.path = path
        self.operationId = operationId
        let validator = ArgumentValidator(inputSchema: tool.inputSchema)
        self.validator = validator
        // The reading routes take their arguments from the query.
        let takesBody = kind.httpMethod == "POST"
        self.hasBody = takesBody && (validator.declaresProperties || confirmField != nil)
        self.bodyRequired = takesBody && (validator.requiresArguments || confirmField != nil)
        self.risk = risk
        self.confirmField = confirmField
        self.pinChanged = pinChanged
    }
}

extension ToolOperation {
    /// The tool's input schema, with the confirmation field (required) when its risk needs one: what a caller sends,
    /// in the REST documents and in the MCP endpoint's `tools/list`.
    public var requestSchema: JSON {
        guard let confirmField else { return tool.inputSchema }
        var schema = tool.inputSchema
        if schema["type"] == nil { schema["type"] = "object" }
        var properties = schema["properties"]?.objectValue ?? [:]
        properties[confirmField] = [
            "type": "boolean", "const": true,
            "description": .string(
                "Set to true to run \(tool.name), a \(risk.rawValue)-risk tool"
                    + (risk == .high ? " that may change or delete data" : "")
                    + ". Without it the call is refused (HTTP 428; through the MCP endpoint a tool error) and nothing happens; "
                    + "the field is not sent to the tool."),
        ]
        schema["properties"] = .object(properties)
        var required = schema["required"]?.arrayValue ?? []
        if !required.contains(.string(confirmField)) { required.append(.string(confirmField)) }
        schema["required"] = .array(required)
        return schema
    }
}
