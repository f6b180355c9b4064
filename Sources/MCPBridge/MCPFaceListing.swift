import JSONValue

/// How the proxy's own MCP endpoint (`/mcp`) describes what its servers offer: each server's definitions as they
/// were listed, under the endpoint's names, with what the proxy adds to a call (the confirmation field).
public enum MCPFaceListing {
    /// A tool as the endpoint's `tools/list` shows it: the server's definition (every member it sent, `icons`,
    /// `_meta` and future ones included) named `name`, with the confirmation field in its input schema (required)
    /// when the tool's risk needs one, so that a model sees it before its first call.
    public static func tool(_ definition: JSON, named name: String, operation: ToolOperation) -> JSON {
        var listed = definition.objectValue ?? [:]
        listed["name"] = .string(name)
        if listed["inputSchema"] == nil || listed["inputSchema"] == .null {
            listed["inputSchema"] = operation.tool.inputSchema
        }
        if operation.confirmField != nil { listed["inputSchema"] = operation.requestSchema }
        return .object(listed)
    }

    /// A prompt as the endpoint's `prompts/list` shows it: the server's definition named `name`.
    public static func prompt(_ definition: JSON, named name: String) -> JSON {
        var listed = definition.objectValue ?? [:]
        listed["name"] = .string(name)
        return .object(listed)
    }
}

/// The names of the aggregated endpoint: `<server>_<name>`, and `_2`, `_3` … for a name an earlier server (in
/// configuration order) or an earlier tool took already (`a` with tool `b_c` and `a_b` with tool `c`).
public struct MCPFaceNames: Sendable {
    private var names = UniqueNames()

    public init() {}

    public mutating func claim(server: String?, name: String) -> String {
        names.claim(server.map { "\($0)_\(name)" } ?? name)
    }
}
