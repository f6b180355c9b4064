import Foundation
import JSONValue

/// Turns one `mcpServers` entry into a `ServerEntry`, or explains precisely why it cannot.
struct EntryDecoder {
    let file: String
    let isYAML: Bool
    let environment: [String: String]
    /// Relative `cwd` values are resolved against this (the config file's directory).
    let baseDirectory: String
    private(set) var warnings: [String] = []

    init(file: String, isYAML: Bool, environment: [String: String], baseDirectory: String) {
        self.file = file
        self.isYAML = isYAML
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    /// The keys this proxy reads; `${VAR}` is expanded in their string values.
    static let knownKeys: [String] =
        [
            "type", "command", "args", "env", "cwd", "url", "headers", "disabledTools", "disabled_tools",
            "enabledTools",
            "enabled_tools", "disabled", "timeout", "toolTimeouts", "maxConcurrentCalls", "oauth",
            "client_header_forwarding", "exposeResources", "exposePrompts", "roots", "elicitation", "isolation",
            "isolationIdleSeconds", "maxInstances",
        ] + AccessDecoder.keys + GovernanceDecoder.serverKeys
    /// Keys other MCP clients write that mean nothing to a proxy; accepted without a warning.
    static let silentlyIgnoredKeys: Set<String> = ["alwaysAllow", "autoApprove", "description", "icon"]

    /// The entry as a server, or nil when it is `disabled: true`.
    mutating func decode(name: String, entry: JSON) throws(ConfigError) -> ServerEntry? {
        guard case .object(let written) = entry else {
            throw error(name, nil, "expected an object describing the server, got \(Self.typeName(entry))")
        }
        if let disabled = present(written["disabled"]) {
            guard case .bool(let isDisabled) = disabled else {
                throw error(name, "disabled", "expected true or false, got \(describe(disabled))")
            }
            // A disabled entry is not looked at further, so a half-written one can be parked.
            if isDisabled { return nil }
        }
        try checkName(name)

        var expanded = written
        for key in Self.knownKeys {
            guard let value = written[key] else { continue }
            expanded[key] = try expand(value, server: name, key: key)
        }
        for key in written.keys where !Self.knownKeys.contains(key) && !Self.silentlyIgnoredKeys.contains(key) {
            var text = "unknown key '\(key)' is ignored"
            if let suggestion = Self.suggestion(for: key) { text += " (did you mean '\(suggestion)'?)" }
            warn(name, text)
        }

        var fields = Fields(decoder: self, server: name, object: expanded)
        let entry = try fields.makeEntry(rawConfig: .object(expanded))
        warnings.append(contentsOf: fields.warnings)
        return entry
    }

    // MARK: - Names

    /// Names become the URL path segment `/<name>/`: refuse what cannot be one, warn about what needs escaping.
    private mutating func checkName(_ name: String) throws(ConfigError) {
        let rule = "it becomes the URL path segment /<name>/"
        if name.isEmpty { throw error(name, nil, "invalid name: must not be empty (\(rule))") }
        if name == "." || name == ".." {
            throw error(name, nil, "invalid name: '\(name)' is not usable as a URL path segment (\(rule))")
        }
        for scalar in name.unicodeScalars {
            let forbidden =
                "/?#%".unicodeScalars.contains(scalar) || scalar.properties.isWhitespace
                || scalar.properties.generalCategory == .control
            if forbidden {
                throw error(
                    name, nil,
                    "invalid name: contains \(Self.show(scalar)); \(rule) and must not contain '/', '?', '#', '%', "
                        + "white space or control characters")
            }
        }
        var unusual: [Unicode.Scalar] = []
        for scalar in name.unicodeScalars where !Self.isUnreserved(scalar) && !unusual.contains(scalar) {
            unusual.append(scalar)
        }
        if !unusual.isEmpty {
            let list = unusual.map { Self.show($0) }.joined(separator: ", ")
            warn(
                name,
                "name contains \(list), outside the URL-safe letters, digits, '-', '_', '.' and '~'; "
                    + "clients must percent-encode it in /\(name)/")
        }
    }

    private static func isUnreserved(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "-", "_", ".", "~": true
        default: false
        }
    }

    private static func show(_ scalar: Unicode.Scalar) -> String {
        if scalar == " " { return "a space" }
        if scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
            return String(format: "U+%04X", scalar.value)
        }
        return "'\(scalar)'"
    }

    // MARK: - Expansion

    private func expand(_ value: JSON, server: String, key: String) throws(ConfigError) -> JSON {
        switch value {
        case .string(let text):
            do {
                return .string(try EnvironmentExpander(environment: environment).expand(text))
            } catch {
                throw self.error(server, key, error.message)
            }
        case .array(let elements):
            var out: [JSON] = []
            out.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                out.append(try expand(element, server: server, key: "\(key)[\(index)]"))
            }
            return .array(out)
        case .object(let members):
            var out = members
            for (member, element) in members {
                out[member] = try expand(element, server: server, key: "\(key).\(member)")
            }
            return .object(out)
        default:
            return value
        }
    }

    // MARK: - Messages

    func error(_ server: String, _ key: String?, _ message: String) -> ConfigError {
        ConfigError(file: file, server: server, key: key, message: message)
    }

    func warning(_ server: String, _ text: String) -> String {
        "\(file): server '\(server)': \(text)"
    }

    private mutating func warn(_ server: String, _ text: String) {
        warnings.append(warning(server, text))
    }

    /// The JSON type of a value as messages name it.
    static func typeName(_ value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "list"
        case .object: "object"
        }
    }

    /// A value's type, with the value itself for booleans and numbers (never for strings, which may be secrets).
    func describe(_ value: JSON) -> String {
        switch value {
        case .bool(let flag): "boolean \(flag)"
        case .number(let number): "number \(number.text)"
        default: Self.typeName(value)
        }
    }

    /// `null` counts as absent, so `env:` with nothing after it in YAML is no error.
    func present(_ value: JSON?) -> JSON? {
        if let value, !value.isNull { return value }
        return nil
    }

    /// The known key closest to a misspelt one, if it is close.
    static func suggestion(for key: String) -> String? {
        let lowered = key.lowercased()
        var best: (key: String, distance: Int)?
        for candidate in knownKeys {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= 2, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.key
    }

    private static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let left = Array(lhs)
        let right = Array(rhs)
        if left.isEmpty || right.isEmpty { return max(left.count, right.count) }
        var previous = Array(0...right.count)
        for (i, leftCharacter) in left.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: right.count)
            for (j, rightCharacter) in right.enumerated() {
                let substitution = previous[j] + (leftCharacter == rightCharacter ? 0 : 1)
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, substitution)
            }
            previous = current
        }
        return previous[right.count]
    }
}

/// Reads and checks the known keys of one expanded entry.
private struct Fields {
    let decoder: EntryDecoder
    let server: String
    let object: OrderedJSONObject
    var warnings: [String] = []

    init(decoder: EntryDecoder, server: String, object: OrderedJSONObject) {
        self.decoder = decoder
        self.server = server
        self.object = object
    }

    mutating func makeEntry(rawConfig: JSON) throws(ConfigError) -> ServerEntry {
        let writtenType = try string("type")
        var kind: String?
        if let writtenType {
            guard let normalized = TransportName.normalized(writtenType) else {
                throw error(
                    "type",
                    "unknown server type '\(writtenType)'; expected 'stdio', 'sse' or 'streamable-http' "
                        + "(also accepted: 'streamable_http', 'streamablehttp', 'http', 'streamableHttp')")
            }
            kind = normalized
        }
        let command = try nonEmptyString("command", stdio: true)
        let arguments = try stringList("args", stdio: true)
        let environment = try stringMap("env", stdio: true)
        let workingDirectory = try nonEmptyString("cwd", stdio: true)
        let url = try httpURL("url")
        let headers = try headerMap("headers")
        let disabledTools = try preferred(camel: "disabledTools", snake: "disabled_tools")
        let enabledTools = try preferred(camel: "enabledTools", snake: "enabled_tools")
        let timeout = try positiveSeconds("timeout")
        let toolTimeouts = try toolTimeoutMap("toolTimeouts")
        let maxConcurrentCalls = try positiveInteger("maxConcurrentCalls")
        let oauth = try objectValue("oauth")
        let forwarding = try headerForwarding()
        let isolation = try isolationSettings()
        let features = ServerFeatureSettings(
            exposeResources: try bool("exposeResources") ?? false, exposePrompts: try bool("exposePrompts") ?? false,
            roots: try roots("roots"), elicitation: try bool("elicitation") ?? false)
        let (file, server) = (decoder.file, self.server)
        let access = try AccessDecoder(error: { key, message in
            ConfigError(file: file, server: server, key: key, message: message)
        }).decode(object)
        let governance = try GovernanceDecoder(error: { key, message in
            ConfigError(file: file, server: server, key: key, message: message)
        }).decodeServer(object)

        let transport: ServerTransport
        switch kind {
        case "sse", "streamable-http":
            guard let url else { throw error("url", "missing; required for a server of type '\(writtenType ?? "")'") }
            let endpoint = RemoteEndpoint(url: url, headers: headers ?? [])
            transport = kind == "sse" ? .sse(endpoint) : .streamableHTTP(endpoint)
        case "stdio":
            guard let command else {
                throw error("command", "missing; required for a server of type '\(writtenType ?? "")'")
            }
            transport = .stdio(stdio(command, arguments, environment, workingDirectory))
        default:
            if let command {
                transport = .stdio(stdio(command, arguments, environment, workingDirectory))
                if url != nil {
                    warn(
                        "'url' is ignored: 'command' is present and there is no 'type', so the server runs over "
                            + "stdio (mcpo would connect to the URL over SSE); add \"type\": \"sse\" or "
                            + "\"type\": \"streamable-http\" to connect to the URL instead")
                }
            } else if let url {
                transport = .sse(RemoteEndpoint(url: url, headers: headers ?? []))
            } else {
                throw ConfigError(
                    file: decoder.file, server: server, key: nil,
                    message: "must have either 'command' for stdio or 'type' and 'url' for remote servers")
            }
        }

        switch transport {
        case .stdio:
            if kind != nil, url != nil { warn("'url' is ignored for a server of type 'stdio'") }
            if headers != nil { warn("'headers' is ignored for a stdio server") }
        case .sse, .streamableHTTP:
            for key in ["command", "args", "env", "cwd"] where decoder.present(object[key]) != nil {
                warn("'\(key)' is ignored for a server of type '\(transport.kindName)'")
            }
        }
        if case .stdio = transport {
            for key in ["forwardHeaders", "forwardToken", "tenantHeader"] where decoder.present(object[key]) != nil {
                throw error(key, "only for remote servers: a stdio server gets no headers")
            }
            for (name, value) in environment ?? [] where value.contains("{{") {
                if isolation.mode == .user {
                    if let problem = AccessDecoder.templateProblem(value) { throw error("env.\(name)", problem) }
                } else {
                    warn(
                        "'env.\(name)' holds '{{', which is filled from the caller's identity only with "
                            + "\"isolation\": \"user\"; it is passed as written")
                }
            }
        } else if isolation.mode == .user {
            throw error("isolation", "\"user\" is only for stdio servers: the proxy starts one process per caller")
        }
        if access.forwardTokenAudience != nil, oauth != nil {
            throw error("forwardToken", "cannot be combined with 'oauth': the request carries one Authorization")
        }
        if url?.contains(ServerEntry.tenantPlaceholder) == true, oauth != nil {
            throw error("url", "a {tenant} URL cannot be combined with 'oauth'")
        }
        if access.tenantHeader != nil, url?.contains(ServerEntry.tenantPlaceholder) != true {
            throw error("tenantHeader", "only for a server whose url holds {tenant}")
        }
        if oauth != nil, transport.kindName != "streamable-http" {
            warn("'oauth' is ignored: OAuth is only supported for streamable-http servers")
        }
        if let enabledTools, enabledTools.tools.isEmpty {
            warn("'\(enabledTools.key)' is empty, so no tool of this server is served")
        }
        if forwarding?["enabled"]?.boolValue == true {
            warn("'client_header_forwarding' is accepted for compatibility but has no effect (as in mcpo)")
        }

        var entry = ServerEntry(
            name: server, transport: transport, disabledTools: Set(disabledTools?.tools ?? []),
            enabledTools: enabledTools.map { Set($0.tools) }, callTimeoutSeconds: timeout, oauth: oauth,
            clientHeaderForwarding: forwarding, rawConfig: rawConfig)
        entry.toolTimeoutSeconds = toolTimeouts
        entry.maxConcurrentCalls = maxConcurrentCalls
        entry.access = access
        entry.governance = governance
        entry.features = features
        entry.isolation = isolation
        return entry
    }

    private func stdio(
        _ command: String, _ arguments: [String]?, _ environment: [(name: String, value: String)]?,
        _ workingDirectory: String?
    ) -> StdioCommand {
        var variables: [String: String] = [:]
        for (name, value) in environment ?? [] { variables[name] = value }
        return StdioCommand(
            command: command, arguments: arguments ?? [], environment: variables,
            workingDirectory: workingDirectory.map(resolve(directory:)))
    }

    /// A relative `cwd` is relative to the config file's directory, not to wherever the proxy was started.
    private func resolve(directory: String) -> String {
        if directory.hasPrefix("/") { return directory }
        return URL(fileURLWithPath: decoder.baseDirectory + "/" + directory).standardizedFileURL.path
    }

    // MARK: - Typed readers (nil when the key is absent or null)

    private func value(_ key: String) -> JSON? { decoder.present(object[key]) }

    private func string(_ key: String, stdio: Bool = false) throws(ConfigError) -> String? {
        guard let value = value(key) else { return nil }
        return try string(value, at: key, stdio: stdio)
    }

    private func string(_ value: JSON, at key: String, stdio: Bool) throws(ConfigError) -> String {
        guard case .string(let text) = value else {
            throw error(key, "expected a string, got \(got(value, expectingString: true))")
        }
        if stdio, text.utf8.contains(0) { throw error(key, "must not contain a NUL character") }
        return text
    }

    private func nonEmptyString(_ key: String, stdio: Bool) throws(ConfigError) -> String? {
        guard let text = try string(key, stdio: stdio) else { return nil }
        if text.isEmpty { throw error(key, "expected a non-empty string") }
        return text
    }

    private func stringList(_ key: String, stdio: Bool = false) throws(ConfigError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let elements) = value else {
            throw error(key, "expected a list of strings, got \(got(value))")
        }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            strings.append(try string(element, at: "\(key)[\(index)]", stdio: stdio))
        }
        return strings
    }

    private func stringMap(_ key: String, stdio: Bool) throws(ConfigError) -> [(name: String, value: String)]? {
        guard let value = value(key) else { return nil }
        guard case .object(let members) = value else {
            throw error(key, "expected an object of strings, got \(got(value))")
        }
        var pairs: [(name: String, value: String)] = []
        for (name, member) in members {
            if name.isEmpty || name.contains("=") || name.utf8.contains(0) {
                throw error(
                    "\(key).\(name)", "invalid environment variable name; it must be non-empty, without '=' or NUL")
            }
            pairs.append((name, try string(member, at: "\(key).\(name)", stdio: stdio)))
        }
        return pairs
    }

    private func headerMap(_ key: String) throws(ConfigError) -> [(name: String, value: String)]? {
        guard let value = value(key) else { return nil }
        guard case .object(let members) = value else {
            throw error(key, "expected an object of strings, got \(got(value))")
        }
        var pairs: [(name: String, value: String)] = []
        for (name, member) in members {
            let path = "\(key).\(name)"
            if name.isEmpty || !name.unicodeScalars.allSatisfy(Self.isTokenCharacter) {
                throw error(path, "invalid header name; use letters, digits and !#$%&'*+-.^_`|~")
            }
            let text = try string(member, at: path, stdio: false)
            if text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw error(path, "header values must not contain line breaks or NUL")
            }
            pairs.append((name, text))
        }
        return pairs
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9": true
        default: "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar)
        }
    }

    private func httpURL(_ key: String) throws(ConfigError) -> String? {
        guard let text = try string(key) else { return nil }
        // `{tenant}` is filled per call (a tenant is `[A-Za-z0-9._-]`); the rest must be a URL already.
        let filled = text.replacingOccurrences(of: ServerEntry.tenantPlaceholder, with: "tenant")
        guard let components = URLComponents(string: filled),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            throw error(key, "expected an absolute http:// or https:// URL")
        }
        return text
    }

    /// `disabledTools` / `disabled_tools`: camelCase wins when both are written, as in mcpo.
    private mutating func preferred(camel: String, snake: String) throws(ConfigError) -> (tools: [String], key: String)?
    {
        if value(camel) != nil, value(snake) != nil {
            warn("'\(snake)' is ignored because '\(camel)' is also present")
        }
        let name = value(camel) != nil ? camel : snake
        return try stringList(name).map { ($0, name) }
    }

    private func positiveSeconds(_ key: String) throws(ConfigError) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.doubleValue.isFinite, number.doubleValue > 0 else {
            throw error(key, "expected a positive number of seconds, got \(got(value))")
        }
        return number.doubleValue
    }

    /// `{"<tool>": <seconds>, …}`.
    private func toolTimeoutMap(_ key: String) throws(ConfigError) -> [String: Double] {
        guard let value = value(key) else { return [:] }
        guard case .object(let members) = value else {
            throw error(key, "expected an object of tool names to seconds, got \(got(value))")
        }
        var result: [String: Double] = [:]
        for (tool, seconds) in members {
            guard case .number(let number) = seconds, number.doubleValue.isFinite, number.doubleValue > 0 else {
                throw error("\(key).\(tool)", "expected a positive number of seconds, got \(got(seconds))")
            }
            result[tool] = number.doubleValue
        }
        return result
    }

    /// `isolation` ("user" or "none"), and the bounds of its processes.
    private mutating func isolationSettings() throws(ConfigError) -> ServerIsolation {
        var isolation = ServerIsolation()
        if let value = value("isolation") {
            guard let text = value.stringValue, let mode = ServerIsolation.Mode(rawValue: text) else {
                throw error("isolation", "expected \"user\" (one process per caller) or \"none\", got \(got(value))")
            }
            isolation.mode = mode
        }
        if let seconds = try positiveSeconds("isolationIdleSeconds") { isolation.idleSeconds = seconds }
        if let count = try positiveInteger("maxInstances") { isolation.maxInstances = count }
        if isolation.mode != .user {
            for key in ["isolationIdleSeconds", "maxInstances"] where value(key) != nil {
                warn("'\(key)' has no effect without \"isolation\": \"user\"")
            }
        }
        return isolation
    }

    private func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw error(key, "expected true or false, got \(got(value))") }
        return flag
    }

    /// `[{"uri": "file:///…", "name": "…"}]`: each URI a `file://` URI, as MCP's roots are.
    private func roots(_ key: String) throws(ConfigError) -> [ServerRoot] {
        guard let value = value(key) else { return [] }
        guard case .array(let items) = value else {
            throw error(key, "expected a list of {\"uri\": \"file:///…\", \"name\": \"…\"}, got \(got(value))")
        }
        var roots: [ServerRoot] = []
        for (index, item) in items.enumerated() {
            let at = "\(key)[\(index)]"
            guard case .object = item else {
                throw error(
                    at,
                    "expected an object such as {\"uri\": \"file:///srv/data\", \"name\": \"data\"}, got \(got(item))")
            }
            guard let uri = item["uri"]?.stringValue, uri.hasPrefix("file://") else {
                let given = item["uri"]?.stringValue.map { "'\($0)'" } ?? "none"
                throw error(at + ".uri", "expected a URI starting with file://, got \(given)")
            }
            let name = item["name"]
            if let name, name.stringValue == nil, !name.isNull {
                throw error(at + ".name", "expected a string, got \(got(name))")
            }
            roots.append(ServerRoot(uri: uri, name: name?.stringValue))
        }
        return roots
    }

    private func positiveInteger(_ key: String) throws(ConfigError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let integer = value.intValue, integer > 0, value.numberValue?.isIntegerLiteral == true else {
            throw error(key, "expected a positive whole number, got \(got(value))")
        }
        return integer
    }

    private func objectValue(_ key: String) throws(ConfigError) -> JSON? {
        guard let value = value(key) else { return nil }
        guard case .object = value else { throw error(key, "expected an object, got \(got(value))") }
        return value
    }

    /// mcpo's checks: an object; `enabled` and `debug_headers` booleans; `whitelist` and `blacklist` lists.
    private func headerForwarding() throws(ConfigError) -> JSON? {
        let key = "client_header_forwarding"
        guard let value = try objectValue(key), case .object(let members) = value else { return nil }
        for flag in ["enabled", "debug_headers"] {
            if let member = decoder.present(members[flag]), member.boolValue == nil {
                throw error("\(key).\(flag)", "expected true or false, got \(got(member))")
            }
        }
        for list in ["whitelist", "blacklist"] {
            guard let member = decoder.present(members[list]) else { continue }
            guard case .array(let elements) = member else {
                throw error("\(key).\(list)", "expected a list of strings, got \(got(member))")
            }
            for (index, element) in elements.enumerated() where element.stringValue == nil {
                throw error("\(key).\(list)[\(index)]", "expected a string, got \(got(element, expectingString: true))")
            }
        }
        return value
    }

    // MARK: - Messages

    private func error(_ key: String, _ message: String) -> ConfigError {
        decoder.error(server, key, message)
    }

    private mutating func warn(_ text: String) {
        warnings.append(decoder.warning(server, text))
    }

    /// What was found instead; where a string was expected, YAML users are told to quote what YAML typed.
    private func got(_ value: JSON, expectingString: Bool = false) -> String {
        let description = decoder.describe(value)
        guard expectingString, decoder.isYAML else { return description }
        switch value {
        case .bool, .number, .null: return description + " (quote it in YAML to make it a string)"
        default: return description
        }
    }
}
