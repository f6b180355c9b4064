import JSONValue

/// Why the bridge cannot translate something: the module's one error type.
public enum BridgeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An element of `tools/list` cannot be served as a tool.
    case invalidToolDefinition(ToolDefinitionProblem)
    /// The arguments of a call do not fit its tool's input schema (HTTP 422), with every issue found.
    case invalidArguments(ValidationFailure)

    public var description: String {
        switch self {
        case .invalidToolDefinition(let problem): problem.description
        case .invalidArguments(let failure): "invalid arguments: \(failure.responseBody.text)"
        }
    }

    /// The issues of invalid arguments (none for other errors).
    public var issues: [ValidationIssue] {
        if case .invalidArguments(let failure) = self { return failure.issues }
        return []
    }

    /// FastAPI's 422 body of invalid arguments, `{"detail": [issue, …]}`; `{"detail": "<description>"}` otherwise.
    public var responseBody: JSON {
        if case .invalidArguments(let failure) = self { return failure.responseBody }
        return ["detail": .string(description)]
    }
}
