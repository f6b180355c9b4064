import JSONValue

/// Reads a server's `toolRisk`, `confirm`, `pinTools` and `rateLimit`, and the top-level `audit` object and
/// `logFormat`; errors name the key path and what is expected.
struct GovernanceDecoder {
    static let serverKeys = ["toolRisk", "confirm", "pinTools", "rateLimit"]
    static let auditKeys: Set<String> = ["store", "outputChars", "retentionDays", "required"]

    /// `error(keyPath, message)` builds the error with the file (and server) the caller knows.
    let error: (String, String) -> ConfigError

    func decodeServer(_ object: OrderedJSONObject) throws(ConfigError) -> ServerGovernance {
        var governance = ServerGovernance()
        if let rules = present(object["toolRisk"]) {
            guard case .object(let members) = rules else {
                throw error(
                    "toolRisk", #"expected an object mapping tool-name globs to risks, e.g. {"delete_*": "high"}"#)
            }
            for (glob, value) in members {
                guard !glob.isEmpty else { throw error("toolRisk.", "a tool glob must not be empty") }
                governance.toolRisk.append((glob, try risk(value, at: "toolRisk.\(glob)")))
            }
        }
        if let confirm = present(object["confirm"]) {
            governance.confirm = try confirmLevel(confirm, at: "confirm")
        }
        if let pins = present(object["pinTools"]) {
            guard case .string(let text) = pins, let mode = PinMode(rawValue: text.lowercased()) else {
                throw error("pinTools", "expected \"off\", \"warn\" or \"block\"")
            }
            governance.pinTools = mode
        }
        if let limits = present(object["rateLimit"]) {
            guard case .object(let members) = limits else {
                throw error(
                    "rateLimit",
                    #"expected an object such as {"perCaller": "60/minute", "tools": {"slow_report": "5/minute"}}"#)
            }
            for key in members.keys where key != "perCaller" && key != "tools" {
                throw error("rateLimit.\(key)", "unknown key; expected 'perCaller' or 'tools'")
            }
            if let perCaller = present(members["perCaller"]) {
                governance.perCallerLimit = try rate(perCaller, at: "rateLimit.perCaller")
            }
            if let tools = present(members["tools"]) {
                guard case .object(let byTool) = tools else {
                    throw error(
                        "rateLimit.tools", "expected an object mapping tool names to rates such as \"5/minute\"")
                }
                for (tool, value) in byTool {
                    governance.toolLimits[tool] = try rate(value, at: "rateLimit.tools.\(tool)")
                }
            }
        }
        return governance
    }

    /// `"high"`, `"medium"` or `"off"` (and `"low"`: every tool).
    func confirmLevel(_ value: JSON, at path: String) throws(ConfigError) -> ToolRisk? {
        guard case .string(let text) = value else {
            throw error(path, "expected \"high\", \"medium\", \"low\" or \"off\"")
        }
        if text.lowercased() == "off" { return nil }
        guard let level = ToolRisk(rawValue: text.lowercased()) else {
            throw error(path, "expected \"high\", \"medium\", \"low\" or \"off\"")
        }
        return level
    }

    func decodeAudit(_ value: JSON, defaultStore: StoreLocation, baseDirectory: String?) throws(ConfigError)
        -> AuditSettings
    {
        let object: OrderedJSONObject
        switch value {
        case .object(let members): object = members
        case .bool(true): object = [:]
        default: throw error("audit", "expected an object such as {\"store\": \"sqlite:///var/lib/mcpo/audit.db\"}")
        }
        var settings = AuditSettings(store: defaultStore)
        if let store = present(object["store"]) {
            guard case .string(let text) = store, let location = StoreLocation.parse(text, relativeTo: baseDirectory)
            else {
                throw error(
                    "audit.store",
                    "expected sqlite:///path/to/audit.db, a file path, or postgres://user@host:5432/database")
            }
            settings.store = location
        }
        if let chars = present(object["outputChars"]) {
            guard let count = chars.intValue, (0...100_000).contains(count) else {
                throw error("audit.outputChars", "expected a whole number from 0 to 100000")
            }
            settings.outputChars = count
        }
        if let days = present(object["retentionDays"]) {
            guard let count = days.intValue, (1...36_500).contains(count) else {
                throw error("audit.retentionDays", "expected a whole number of days from 1 to 36500")
            }
            settings.retentionDays = count
        }
        if let required = present(object["required"]) {
            guard case .bool(let flag) = required else { throw error("audit.required", "expected true or false") }
            settings.required = flag
        }
        return settings
    }

    private func risk(_ value: JSON, at path: String) throws(ConfigError) -> ToolRisk {
        guard case .string(let text) = value, let risk = ToolRisk(rawValue: text.lowercased()) else {
            throw error(path, "expected \"low\", \"medium\" or \"high\"")
        }
        return risk
    }

    private func rate(_ value: JSON, at path: String) throws(ConfigError) -> RateLimit {
        guard case .string(let text) = value, let limit = RateLimit.parse(text) else {
            throw error(path, "expected a rate such as \"60/minute\" (N/second, N/minute or N/hour)")
        }
        return limit
    }

    private func present(_ value: JSON?) -> JSON? {
        if let value, !value.isNull { return value }
        return nil
    }
}
