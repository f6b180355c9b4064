import JSONValue
import MCPOConfig

/// What the proxy answers the requests a server sends it (the client): `ping`; `roots/list` with the server's
/// `roots` when it has any; a clear refusal of what the proxy does not do (sampling: it has no model of its own).
/// Pure: the connection sends what this returns.
public struct ServerRequestAnswers: Sendable, Equatable {
    /// The roots `roots/list` answers; none: the proxy declares no roots capability and refuses the request.
    public var roots: [ServerRoot]
    /// Whether the proxy takes a server's questions (`elicitation/create`, form mode) to its caller.
    public var elicitation: Bool

    public init(roots: [ServerRoot] = [], elicitation: Bool = false) {
        self.roots = roots
        self.elicitation = elicitation
    }

    /// The client capabilities the proxy declares in `initialize` (and in the 2026-07-28 `_meta`): exactly what it
    /// answers.
    public var capabilities: JSON {
        var capabilities = OrderedJSONObject()
        if !roots.isEmpty { capabilities["roots"] = ["listChanged": false] }
        if elicitation { capabilities["elicitation"] = ["form": [:]] }
        return .object(capabilities)
    }

    public enum Answer: Sendable, Equatable {
        case result(JSON)
        case error(code: Int, message: String)
    }

    public func answer(method: String) -> Answer {
        switch method {
        case "ping":
            return .result([:])
        case "roots/list" where !roots.isEmpty:
            return .result(["roots": .array(roots.map(Self.json))])
        case "roots/list":
            return .error(code: -32601, message: "The proxy offers no roots for this server (none configured)")
        case "sampling/createMessage":
            return .error(
                code: -32601,
                message: "The proxy does not sample: it has no language model of its own to answer "
                    + "sampling/createMessage")
        default:
            return .error(code: -32601, message: "Method not supported by the proxy: \(method)")
        }
    }

    static func json(_ root: ServerRoot) -> JSON {
        var object: OrderedJSONObject = ["uri": .string(root.uri)]
        if let name = root.name { object["name"] = .string(name) }
        return .object(object)
    }
}
