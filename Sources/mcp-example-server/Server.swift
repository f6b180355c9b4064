import Foundation
import JSONValue

/// The MCP server: reads JSON-RPC messages, answers them, and runs every `tools/call` in a task of
/// its own so that a slow tool never holds up other requests.
actor Server {
    static let serverName = "mcp-example-server"
    static let serverVersion = "1.0.0"
    static let supportedProtocolVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    static let latestProtocolVersion = "2025-11-25"
    /// How long in-flight tool calls may still finish after stdin closes.
    static let shutdownGracePeriod = Duration.milliseconds(1500)

    private let tools: [Tool]
    private let toolsByName: [String: Tool]
    private let pageSize: Int?
    private let output: StdioWriter
    private let verbose: Bool

    /// Running `tools/call` requests by JSON-RPC id.
    private var running: [JSON: Task<Void, Never>] = [:]
    /// Set by `logging/setLevel`; no `notifications/message` are sent before that.
    private var minimumLogLevel: LogLevel?

    init(tools: [Tool], pageSize: Int?, output: StdioWriter, verbose: Bool) {
        self.tools = tools
        self.toolsByName = Dictionary(tools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.pageSize = pageSize
        self.output = output
        self.verbose = verbose
    }

    /// Serves until `lines` ends (stdin closed), then lets running calls finish for a short while.
    func run(lines: AsyncStream<[UInt8]>) async {
        for await line in lines {
            await handle(line: line)
        }
        if verbose { StandardError.log("stdin closed; shutting down") }
        let deadline = ContinuousClock.now + Self.shutdownGracePeriod
        while !running.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for task in running.values { task.cancel() }
        running.removeAll()
    }

    // MARK: - Incoming messages

    private func handle(line: [UInt8]) async {
        guard line.contains(where: { !Self.isWhitespace($0) }) else { return }
        let message: JSON
        do {
            message = try JSON.parse(line)
        } catch {
            await sendError(id: .null, code: -32700, message: "Parse error: \(error)")
            return
        }
        guard case .object = message else {
            let what = message.arrayValue != nil ? "batches are not supported" : "expected an object"
            await sendError(id: .null, code: -32600, message: "Invalid Request: \(what)")
            return
        }
        let id = message["id"]
        if let id, !Self.isValidID(id) {
            await sendError(id: .null, code: -32600, message: "Invalid Request: id must be a string or a number")
            return
        }
        guard message["jsonrpc"] == "2.0" else {
            await sendError(id: id ?? .null, code: -32600, message: "Invalid Request: jsonrpc must be \"2.0\"")
            return
        }
        guard let method = message["method"]?.stringValue else {
            // A response to a request of ours; we send none, so there is nothing to match it with.
            if message["result"] != nil || message["error"] != nil { return }
            await sendError(id: id ?? .null, code: -32600, message: "Invalid Request: missing method")
            return
        }
        let params = message["params"] ?? [:]
        guard case .object = params else {
            if let id { await sendError(id: id, code: -32602, message: "Invalid params: expected an object") }
            return
        }
        if verbose { StandardError.log("<- \(method)" + (id.map { " (id \($0.text))" } ?? "")) }
        if let id {
            await handleRequest(id: id, method: method, params: params)
        } else {
            handleNotification(method: method, params: params)
        }
    }

    private func handleRequest(id: JSON, method: String, params: JSON) async {
        switch method {
        case "initialize":
            await sendResult(id: id, initializeResult(params: params))
        case "ping":
            await sendResult(id: id, [:])
        case "logging/setLevel":
            guard let name = params["level"]?.stringValue, let level = LogLevel(rawValue: name) else {
                let levels = LogLevel.allCases.map(\.rawValue).joined(separator: ", ")
                await sendError(id: id, code: -32602, message: "Invalid params: level must be one of \(levels)")
                return
            }
            minimumLogLevel = level
            await sendResult(id: id, [:])
        case "tools/list":
            await listTools(id: id, params: params)
        case "tools/call":
            await startToolCall(id: id, params: params)
        default:
            await sendError(id: id, code: -32601, message: "Method not found: \(method)")
        }
    }

    private func handleNotification(method: String, params: JSON) {
        switch method {
        case "notifications/cancelled":
            guard let requestID = params["requestId"], let task = running.removeValue(forKey: requestID) else {
                return  // Already finished, or never ours: nothing to do.
            }
            task.cancel()
            if verbose { StandardError.log("cancelled request \(requestID.text)") }
        default:
            break  // notifications/initialized and anything unknown need no action.
        }
    }

    // MARK: - Methods

    private func initializeResult(params: JSON) -> JSON {
        let requested = params["protocolVersion"]?.stringValue
        let version =
            requested.flatMap { Self.supportedProtocolVersions.contains($0) ? $0 : nil }
            ?? Self.latestProtocolVersion
        if verbose, let client = params["clientInfo"] {
            StandardError.log("client \(client.text) asked for \(requested ?? "?"), using \(version)")
        }
        return [
            "protocolVersion": .string(version),
            "capabilities": ["tools": ["listChanged": true], "logging": [:]],
            "serverInfo": [
                "name": .string(Self.serverName),
                "title": "swift-mcpo example server",
                "version": .string(Self.serverVersion),
            ],
            "instructions": "Example tools served by swift-mcpo's own Swift MCP server.",
        ]
    }

    private func listTools(id: JSON, params: JSON) async {
        var offset = 0
        if let cursor = params["cursor"], !cursor.isNull {
            guard let text = cursor.stringValue, let decoded = Self.decodeCursor(text), decoded < tools.count else {
                await sendError(id: id, code: -32602, message: "Invalid params: unknown cursor")
                return
            }
            offset = decoded
        }
        let end = pageSize.map { min(offset + $0, tools.count) } ?? tools.count
        var result: JSON = ["tools": .array(tools[offset..<end].map(\.definition))]
        if end < tools.count {
            result["nextCursor"] = .string(Self.encodeCursor(end))
        }
        await sendResult(id: id, result)
    }

    private func startToolCall(id: JSON, params: JSON) async {
        guard let name = params["name"]?.stringValue else {
            await sendError(id: id, code: -32602, message: "Invalid params: name must be a string")
            return
        }
        guard let tool = toolsByName[name] else {
            await sendError(id: id, code: -32602, message: "Unknown tool: \(name)")
            return
        }
        var arguments: JSON = [:]
        if let given = params["arguments"], !given.isNull {
            guard case .object = given else {
                await sendError(id: id, code: -32602, message: "Invalid params: arguments must be an object")
                return
            }
            arguments = given
        }
        guard running[id] == nil else {
            await sendError(id: id, code: -32600, message: "Invalid Request: id \(id.text) is already in use")
            return
        }
        let progressToken = params["_meta"]?["progressToken"].flatMap { Self.isValidID($0) ? $0 : nil }
        let context = ToolContext(toolName: name, progressToken: progressToken, server: self)
        // Detached: the tool runs on the global executor, not on this actor.
        running[id] = Task.detached {
            let result = await tool.call(arguments: arguments, context: context)
            await self.finishToolCall(id: id, result: result)
        }
    }

    private func finishToolCall(id: JSON, result: ToolResult?) async {
        // Cancelled calls were removed already and get no answer, as the cancellation rules ask.
        guard running.removeValue(forKey: id) != nil, let result else { return }
        await sendResult(id: id, result.json)
    }

    // MARK: - Outgoing messages

    func sendNotification(_ method: String, params: JSON) async {
        await output.send(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }

    func log(_ level: LogLevel, logger: String, message: String) async {
        guard let minimumLogLevel, level >= minimumLogLevel else { return }
        let params: JSON = ["level": .string(level.rawValue), "logger": .string(logger), "data": .string(message)]
        await sendNotification("notifications/message", params: params)
    }

    private func sendResult(id: JSON, _ result: JSON) async {
        if verbose { StandardError.log("-> result (id \(id.text))") }
        await output.send(["jsonrpc": "2.0", "id": id, "result": result])
    }

    private func sendError(id: JSON, code: Int, message: String) async {
        if verbose || code == -32700 || code == -32600 { StandardError.log("-> error \(code): \(message)") }
        await output.send(["jsonrpc": "2.0", "id": id, "error": ["code": .int(code), "message": .string(message)]])
    }

    // MARK: - Helpers

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isValidID(_ id: JSON) -> Bool {
        switch id {
        case .string, .number: true
        default: false
        }
    }

    /// Cursors are opaque to clients: base64 of "offset:N".
    private static func encodeCursor(_ offset: Int) -> String {
        Data("offset:\(offset)".utf8).base64EncodedString()
    }

    private static func decodeCursor(_ cursor: String) -> Int? {
        guard let data = Data(base64Encoded: cursor) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("offset:"), let offset = Int(text.dropFirst("offset:".count)), offset >= 0 else {
            return nil
        }
        return offset
    }
}
