import Foundation
import JSONValue

/// Reads what a server's calls need and carry about their caller (`toolScopes`, `forwardHeaders`, `forwardToken`,
/// `tenantHeader`), from a server entry or from the top of an `--auth-config` file; errors name the key path.
struct AccessDecoder {
    static let keys = ["toolScopes", "forwardHeaders", "forwardToken", "tenantHeader"]
    /// What a `forwardHeaders` template may hold.
    static let placeholders = ["user", "tenant", "keyName", "issuer"]

    /// `error(keyPath, message)` builds the error with the file and the server the caller knows.
    let error: (String, String) -> ConfigError

    func decode(_ object: OrderedJSONObject) throws(ConfigError) -> ServerAccess {
        var access = ServerAccess()
        if let rules = present(object["toolScopes"]) { access.toolScopes = try toolScopes(rules) }
        if let headers = present(object["forwardHeaders"]) { access.forwardHeaders = try forwardHeaders(headers) }
        if let token = present(object["forwardToken"]) {
            guard case .object(let settings) = token, case .string(let audience)? = present(settings["audience"]),
                !audience.isEmpty
            else {
                throw error(
                    "forwardToken.audience",
                    "expected {\"audience\": \"<the upstream's identifier>\"}: the caller's token "
                        + "goes upstream only when its `aud` names it")
            }
            access.forwardTokenAudience = audience
        }
        if let header = present(object["tenantHeader"]) {
            guard case .string(let name) = header, Self.isHeaderName(name) else {
                throw error("tenantHeader", "expected a header name such as \"X-Tenant-Id\"")
            }
            access.tenantHeader = name
        }
        return access
    }

    private func toolScopes(_ value: JSON) throws(ConfigError) -> [ToolScopeRule] {
        guard case .object(let object) = value else {
            throw error(
                "toolScopes",
                "expected an object mapping tool-name globs to the scopes a call needs, e.g. {\"delete_*\": [\"kitchen:write\"]}"
            )
        }
        var rules: [ToolScopeRule] = []
        let reader = AuthDecoder(file: "", environment: [:])
        for (glob, scopes) in object {
            let path = "toolScopes.\(glob)"
            guard !glob.isEmpty else { throw error(path, "a tool glob must not be empty") }
            do {
                rules.append(ToolScopeRule(toolGlob: glob, scopes: try reader.scopeList(scopes, at: path) ?? []))
            } catch {
                throw self.error(error.key ?? path, error.message)
            }
        }
        return rules
    }

    private func forwardHeaders(_ value: JSON) throws(ConfigError) -> [(name: String, template: String)] {
        guard case .object(let object) = value else {
            throw error("forwardHeaders", "expected an object mapping header names to templates such as \"{{user}}\"")
        }
        var headers: [(name: String, template: String)] = []
        for (name, template) in object {
            let path = "forwardHeaders.\(name)"
            guard Self.isHeaderName(name) else {
                throw error(path, "invalid header name; use letters, digits and !#$%&'*+-.^_`|~")
            }
            guard
                !["authorization", "host", "content-length", "content-type", "mcp-session-id"].contains(
                    name.lowercased())
            else { throw error(path, "the proxy sets this header itself; forward the token with 'forwardToken'") }
            guard case .string(let text) = template, !text.isEmpty else {
                throw error(path, "expected a template string such as \"{{user}}\"")
            }
            if let problem = Self.templateProblem(text) { throw error(path, problem) }
            headers.append((name, text))
        }
        return headers
    }

    /// Why a template cannot be filled, if it cannot: an unknown placeholder, or one left open.
    static func templateProblem(_ template: String) -> String? {
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                return "a '{{' is not closed by '}}'"
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            let known = placeholders.contains(name) || (name.hasPrefix("claims.") && name.count > 7)
            guard known else {
                return
                    "unknown placeholder '{{\(name)}}'; use {{user}}, {{tenant}}, {{keyName}}, {{issuer}} or {{claims.<name>}}"
            }
            rest = rest[close.upperBound...]
        }
        return nil
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                switch scalar {
                case "A"..."Z", "a"..."z", "0"..."9": true
                default: "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar)
                }
            }
    }

    private func present(_ value: JSON?) -> JSON? {
        if let value, !value.isNull { return value }
        return nil
    }
}
