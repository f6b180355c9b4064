import JSONValue

/// One tool: what `tools/list` shows and the code `tools/call` runs.
struct Tool: Sendable {
    typealias Handler = @Sendable (ToolArguments, ToolContext) async throws -> ToolResult

    let name: String
    /// The complete `tools/list` entry (name, title, description, schemas, annotations).
    let definition: JSON
    let handler: Handler

    init(
        name: String,
        title: String,
        description: String,
        inputSchema: JSON,
        outputSchema: JSON? = nil,
        annotations: JSON,
        handler: @escaping Handler
    ) {
        var definition: JSON = [
            "name": .string(name),
            "title": .string(title),
            "description": .string(description),
            "inputSchema": inputSchema,
        ]
        if let outputSchema { definition["outputSchema"] = outputSchema }
        definition["annotations"] = annotations
        self.name = name
        self.definition = definition
        self.handler = handler
    }

    /// Runs the tool. Argument mistakes and failures become results with `isError`, as MCP asks;
    /// nil means the call was cancelled.
    func call(arguments: JSON, context: ToolContext) async -> ToolResult? {
        do {
            return try await handler(ToolArguments(arguments), context)
        } catch let error as ToolError {
            return .error(error.message)
        } catch is CancellationError {
            return nil
        } catch {
            return .error("\(name) failed: \(error)")
        }
    }
}

/// A tool-level failure: reported to the model as a result with `isError: true`.
struct ToolError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A `tools/call` result.
struct ToolResult: Sendable {
    var content: [JSON]
    var structuredContent: JSON?
    var isError = false

    static func text(_ text: String, structured: JSON? = nil) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(text)]], structuredContent: structured)
    }

    /// Structured output, with its JSON serialization as the text block for older clients.
    static func structured(_ value: JSON) -> ToolResult {
        .text(value.text, structured: value)
    }

    static func error(_ message: String) -> ToolResult {
        ToolResult(content: [["type": "text", "text": .string(message)]], isError: true)
    }

    var json: JSON {
        var result: JSON = ["content": .array(content)]
        if let structuredContent { result["structuredContent"] = structuredContent }
        result["isError"] = .bool(isError)
        return result
    }
}

/// What a running tool can do besides returning: report progress and log.
struct ToolContext: Sendable {
    let toolName: String
    /// `_meta.progressToken` of the request, if the client asked for progress.
    let progressToken: JSON?
    let server: Server

    /// Sends `notifications/progress` when the client asked for progress; otherwise does nothing.
    func reportProgress(_ progress: Int, total: Int?, message: String?) async {
        guard let progressToken else { return }
        var params: JSON = ["progressToken": progressToken, "progress": .int(progress)]
        if let total { params["total"] = .int(total) }
        if let message { params["message"] = .string(message) }
        await server.sendNotification("notifications/progress", params: params)
    }

    /// Sends `notifications/message` if the client enabled logging at `level` or below.
    func log(_ level: LogLevel, _ message: String) async {
        await server.log(level, logger: toolName, message: message)
    }
}

/// MCP log levels (RFC 5424 severities), least severe first.
enum LogLevel: String, CaseIterable, Comparable, Sendable {
    case debug, info, notice, warning, error, critical, alert, emergency

    /// 0 for `debug` up to 7 for `emergency`.
    var severity: Int { LogLevel.allCases.firstIndex(of: self) ?? 0 }

    static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.severity < rhs.severity }
}

/// Typed, validating access to a tool's arguments (or to a nested object within them).
///
/// Every accessor treats a missing member and `null` alike, and throws a `ToolError` whose message
/// names the argument by its path (`location.address.country`) and says what was expected.
struct ToolArguments: Sendable {
    let json: JSON
    /// Dotted path of this object within the arguments, "" at the top.
    let path: String

    init(_ json: JSON, path: String = "") {
        self.json = json
        self.path = path
    }

    /// The member names present.
    var keys: [String] { json.objectValue.map { Array($0.keys) } ?? [] }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func value(_ key: String) -> JSON? {
        guard let value = json[key], !value.isNull else { return nil }
        return value
    }

    func missing(_ key: String, _ type: String) -> ToolError {
        ToolError("Missing required argument '\(name(key))' (\(type)).")
    }

    func wrongType(_ key: String, expected: String, got value: JSON) -> ToolError {
        var shown = value.text
        if shown.count > 60 { shown = shown.prefix(57) + "..." }
        return ToolError("Argument '\(name(key))' must be \(expected), got \(value.schemaTypeName) \(shown).")
    }

    func string(_ key: String) throws(ToolError) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.stringValue else { throw wrongType(key, expected: "a string", got: value) }
        return string
    }

    func requiredString(_ key: String) throws(ToolError) -> String {
        guard let string = try string(key) else { throw missing(key, "string") }
        return string
    }

    func integer(_ key: String) throws(ToolError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.intValue else { throw wrongType(key, expected: "an integer", got: value) }
        return int
    }

    /// An integer within `range`, `defaultValue` when absent.
    func integer(_ key: String, in range: ClosedRange<Int>, default defaultValue: Int) throws(ToolError) -> Int {
        guard let int = try integer(key) else { return defaultValue }
        guard range.contains(int) else {
            throw ToolError(
                "Argument '\(name(key))' must be between \(range.lowerBound) and \(range.upperBound), got \(int).")
        }
        return int
    }

    func requiredNumber(_ key: String) throws(ToolError) -> Double {
        guard let value = value(key) else { throw missing(key, "number") }
        guard let number = value.doubleValue, number.isFinite else {
            throw wrongType(key, expected: "a number", got: value)
        }
        return number
    }

    func bool(_ key: String) throws(ToolError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.boolValue else { throw wrongType(key, expected: "a boolean", got: value) }
        return bool
    }

    /// One of `choices`; `defaultValue` when absent (required when there is no default).
    func choice(_ key: String, from choices: [String], default defaultValue: String? = nil) throws(ToolError)
        -> String
    {
        guard let string = try string(key) ?? defaultValue else { throw missing(key, "string") }
        guard choices.contains(string) else {
            let list = choices.map { "'\($0)'" }.joined(separator: ", ")
            throw ToolError("Argument '\(name(key))' must be one of \(list); got '\(string)'.")
        }
        return string
    }

    func object(_ key: String) throws(ToolError) -> ToolArguments? {
        guard let value = value(key) else { return nil }
        guard case .object = value else { throw wrongType(key, expected: "an object", got: value) }
        return ToolArguments(value, path: name(key))
    }

    func array(_ key: String) throws(ToolError) -> [JSON]? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else { throw wrongType(key, expected: "an array", got: value) }
        return array
    }

    /// Throws when a member other than `allowed` is present (for `additionalProperties: false`).
    func rejectUnknownKeys(allowed: [String]) throws(ToolError) {
        if let unknown = keys.first(where: { !allowed.contains($0) }) {
            let list = allowed.map { "'\($0)'" }.joined(separator: ", ")
            throw ToolError("Unexpected argument '\(name(unknown))'; allowed here: \(list).")
        }
    }
}
