import JSONValue

/// One MCP tool as `tools/list` describes it.
public struct ToolDefinition: Sendable {
    public let name: String
    /// `tool.title`, else `annotations.title` (the older place MCP kept it).
    public let title: String?
    public let description: String?
    /// The tool's JSON Schema for its arguments; `{"type":"object"}` when the server sent none.
    public let inputSchema: JSON
    public let outputSchema: JSON?
    public let annotations: JSON?

    public init(
        name: String,
        title: String? = nil,
        description: String? = nil,
        inputSchema: JSON = ["type": "object"],
        outputSchema: JSON? = nil,
        annotations: JSON? = nil
    ) {
        self.name = name
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.annotations = annotations
    }

    /// Reads one element of the `tools` array of a `tools/list` result.
    ///
    /// Only a missing name or a non-object `inputSchema` is refused: without them the tool cannot be
    /// routed or described. Odd optional members (a numeric `description`, an `outputSchema` that is
    /// not an object) are ignored instead, so one sloppy field does not hide a usable tool.
    public init(json: JSON) throws(BridgeError) {
        guard let object = json.objectValue else { throw .invalidToolDefinition(.notAnObject) }
        guard let name = object["name"]?.stringValue, !name.isEmpty else {
            throw .invalidToolDefinition(.missingName)
        }
        let inputSchema: JSON
        switch object["inputSchema"] {
        case nil, .null?: inputSchema = ["type": "object"]
        case .object(let schema)?: inputSchema = .object(schema)
        case let other?: throw .invalidToolDefinition(.inputSchemaNotAnObject(tool: name, found: other.schemaTypeName))
        }
        // Compared by kind, not with a `nil` literal: JSON itself is nil-literal convertible (to `null`).
        let annotations = object["annotations"].flatMap(Self.objectOrNone)
        self.init(
            name: name,
            title: object["title"]?.stringValue ?? annotations?["title"]?.stringValue,
            description: object["description"]?.stringValue,
            inputSchema: inputSchema,
            outputSchema: object["outputSchema"].flatMap(Self.objectOrNone),
            annotations: annotations
        )
    }
}

extension ToolDefinition {
    private static func objectOrNone(_ value: JSON) -> JSON? {
        if case .object = value { return value }
        return Optional.none
    }
}

/// Why an element of `tools/list` cannot be served as a tool.
public enum ToolDefinitionProblem: Sendable, Hashable, CustomStringConvertible {
    case notAnObject
    case missingName
    case inputSchemaNotAnObject(tool: String, found: String)

    public var description: String {
        switch self {
        case .notAnObject: "tool definition is not a JSON object"
        case .missingName: "tool definition has no name (a non-empty string is required)"
        case .inputSchemaNotAnObject(let tool, let found):
            "tool '\(tool)' has an inputSchema that is \(found), not a JSON object"
        }
    }
}
