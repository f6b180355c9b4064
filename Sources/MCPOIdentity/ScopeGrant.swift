import MCPOConfig

/// The scopes a caller may use: granted patterns with `*` wildcards (`read:*`, `*:read`, `*`). A grant may be
/// narrowed (an Open WebUI user's role within the key's own scopes): a scope is granted when every part allows it.
public struct ScopeGrant: Sendable, Equatable {
    private let parts: [[String]]

    public init(_ patterns: [String]) {
        parts = [patterns]
    }

    private init(parts: [[String]]) {
        self.parts = parts
    }

    /// Every scope (the keys of `--api-key`).
    public static let everything = ScopeGrant(["*"])
    /// No scope at all.
    public static let nothing = ScopeGrant([])

    /// This grant, within `patterns` as well.
    public func narrowed(by patterns: [String]) -> ScopeGrant {
        ScopeGrant(parts: parts + [patterns])
    }

    public func allows(_ scope: String) -> Bool {
        parts.allSatisfy { patterns in patterns.contains { Glob.matches($0, scope, singleCharacter: false) } }
    }

    /// The scopes of `required` this grant does not allow, in their order.
    public func missing(_ required: [String]) -> [String] {
        required.filter { !allows($0) }
    }
}

/// A server's `toolScopes`: the scopes a call of each tool needs, the first entry whose glob matches the tool
/// deciding; a tool no entry matches needs none.
public struct ToolScopeRules: Sendable, Equatable {
    public let rules: [ToolScopeRule]

    public init(_ rules: [ToolScopeRule]) {
        self.rules = rules
    }

    public func requiredScopes(for tool: String) -> [String] {
        rules.first { Glob.matches($0.toolGlob, tool) }?.scopes ?? []
    }

    /// Every scope some entry names (for RFC 9728's `scopes_supported`).
    public var allScopes: [String] {
        var seen: Set<String> = []
        return rules.flatMap(\.scopes).filter { seen.insert($0).inserted }
    }
}
