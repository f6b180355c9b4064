import Foundation
import JSONValue

/// What an operation reaches on its server: a tool, or one of the server's resources and prompts routes.
public enum OperationKind: Sendable, Hashable {
    case tool
    /// `GET /resources`: every resource and resource template (`resources/list`, `resources/templates/list`).
    case resourceList
    /// `GET /resources/read?uri=…`: one resource's contents (`resources/read`).
    case resourceRead
    /// `GET /prompts`: every prompt (`prompts/list`).
    case promptList
    /// `POST /prompts/<name>`: the prompt's messages for the arguments in the body (`prompts/get`).
    case prompt(String)

    /// GET for the reading routes, POST for tools and prompts.
    public var httpMethod: String {
        switch self {
        case .tool, .prompt: "POST"
        case .resourceList, .resourceRead, .promptList: "GET"
        }
    }
}

/// The resources and prompts routes of one server as operations, named so that `toolScopes`, `rateLimit` and the
/// audit log treat them like tools: `resources/list`, `resources/read`, `prompts/list`, `prompts/<name>`.
public enum ServerFeatures {
    /// The resources routes, when the server's capabilities declare `resources`.
    public static func resourceOperations() -> [ToolOperation] {
        [
            ToolOperation(
                tool: ToolDefinition(
                    name: "resources/list", title: "List resources",
                    description: "Every resource and resource template the server offers (all pages).",
                    inputSchema: ["type": "object", "properties": [:]]),
                path: "/resources", operationId: "resources_list_get", risk: .low, kind: .resourceList),
            ToolOperation(
                tool: ToolDefinition(
                    name: "resources/read", title: "Read a resource",
                    description:
                        "The contents of the resource at `uri`: a text as its text with its type, a binary as its "
                        + "bytes, several contents as a JSON array.",
                    inputSchema: [
                        "type": "object",
                        "properties": [
                            "uri": [
                                "type": "string", "description": "The resource's URI, as `GET /resources` lists it.",
                            ]
                        ],
                        "required": ["uri"],
                    ]),
                path: "/resources/read", operationId: "resources_read_get", risk: .low, kind: .resourceRead),
        ]
    }

    /// `GET /prompts` and one `POST /prompts/<name>` per prompt of `prompts/list` (a prompt without a name is left
    /// out). The body's schema is the prompt's arguments, all strings as MCP has them, the required ones required.
    public static func promptOperations(_ prompts: [JSON]) -> [ToolOperation] {
        var operations = [
            ToolOperation(
                tool: ToolDefinition(
                    name: "prompts/list", title: "List prompts",
                    description: "Every prompt the server offers (all pages), with its arguments.",
                    inputSchema: ["type": "object", "properties": [:]]),
                path: "/prompts", operationId: "prompts_list_get", risk: .low, kind: .promptList)
        ]
        var operationIds = UniqueNames()
        for prompt in prompts {
            guard let name = prompt["name"]?.stringValue, !name.isEmpty else { continue }
            operations.append(
                ToolOperation(
                    tool: ToolDefinition(
                        name: "prompts/" + name, title: prompt["title"]?.stringValue,
                        description: prompt["description"]?.stringValue, inputSchema: argumentSchema(of: prompt)),
                    path: "/prompts/" + name,
                    operationId: operationIds.claim("prompt_" + Naming.asciiWord(name) + "_post"), risk: .low,
                    kind: .prompt(name)))
        }
        return operations
    }

    static func argumentSchema(of prompt: JSON) -> JSON {
        var properties = OrderedJSONObject()
        var required: [JSON] = []
        for argument in prompt["arguments"]?.arrayValue ?? [] {
            guard let name = argument["name"]?.stringValue, !name.isEmpty else { continue }
            var property: OrderedJSONObject = ["type": "string"]
            if let title = argument["title"]?.stringValue { property["title"] = .string(title) }
            if let description = argument["description"]?.stringValue {
                property["description"] = .string(description)
            }
            properties[name] = .object(property)
            if argument["required"]?.boolValue == true { required.append(.string(name)) }
        }
        var schema: OrderedJSONObject = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required) }
        return .object(schema)
    }
}

/// The request a resources or prompts operation sends upstream.
public struct FeatureRequest: Sendable, Equatable {
    /// A listing: every page of each method, the array under `member` of each merged into the answer.
    public struct Listing: Sendable, Equatable {
        public let method: String
        public let member: String
        /// A server may offer resources without templates: `-32601` for this method is an empty list.
        public let optional: Bool
    }

    public enum Shape: Sendable, Equatable {
        case listings([Listing])
        case single(method: String, params: JSON)
    }

    public let shape: Shape

    /// What `kind` sends for `arguments` (the checked body, or the query as an object); nil for a tool.
    public init?(kind: OperationKind, arguments: JSON) {
        switch kind {
        case .tool:
            return nil
        case .resourceList:
            shape = .listings([
                Listing(method: "resources/list", member: "resources", optional: false),
                Listing(method: "resources/templates/list", member: "resourceTemplates", optional: true),
            ])
        case .promptList:
            shape = .listings([Listing(method: "prompts/list", member: "prompts", optional: false)])
        case .resourceRead:
            shape = .single(method: "resources/read", params: ["uri": arguments["uri"] ?? ""])
        case .prompt(let name):
            shape = .single(method: "prompts/get", params: ["name": .string(name), "arguments": arguments])
        }
    }
}

/// An answer of the resources and prompts routes: JSON, or (one resource content) its own bytes and type.
public enum FeatureAnswer: Sendable, Equatable {
    case json(HTTPAnswer)
    case content(contentType: String, bytes: [UInt8])

    /// The answer to `kind` for the server's `result` (for a listing, the merged pages).
    public static func answer(for kind: OperationKind, result: JSON) -> FeatureAnswer {
        switch kind {
        case .resourceRead:
            return resourceContents(result)
        case .prompt:
            return .json(
                HTTPAnswer(
                    status: 200,
                    body: ["description": result["description"] ?? .null, "messages": result["messages"] ?? []]))
        case .tool, .resourceList, .promptList:
            return .json(HTTPAnswer(status: 200, body: result))
        }
    }

    /// The answer as JSON (an event stream's `result` event carries JSON): one content's bytes become `contents`.
    public static func jsonAnswer(for kind: OperationKind, result: JSON) -> HTTPAnswer {
        switch answer(for: kind, result: result) {
        case .json(let answer): answer
        case .content: HTTPAnswer(status: 200, body: ["contents": result["contents"] ?? []])
        }
    }

    /// One text content: its text with its type (JSON types as JSON; `text/plain; charset=utf-8` without a type);
    /// one blob: its bytes with its type; none or several: a JSON array of the contents as the server sent them.
    static func resourceContents(_ result: JSON) -> FeatureAnswer {
        let contents = result["contents"]?.arrayValue ?? []
        guard contents.count == 1, let content = contents.first else {
            return .json(HTTPAnswer(status: 200, body: .array(contents)))
        }
        let mimeType = content["mimeType"]?.stringValue.flatMap { isHeaderSafe($0) ? $0 : nil }
        if let text = content["text"]?.stringValue {
            return .content(contentType: textType(mimeType), bytes: Array(text.utf8))
        }
        if let blob = content["blob"]?.stringValue {
            guard let bytes = Data(base64Encoded: blob).map(Array.init) else {
                return .json(
                    HTTPAnswer(
                        status: 502,
                        body: ["detail": "The MCP server sent a resource whose blob is not valid base64"]))
            }
            return .content(contentType: mimeType ?? "application/octet-stream", bytes: bytes)
        }
        return .json(HTTPAnswer(status: 200, body: .array(contents)))
    }

    /// A text's type: `text/…` without a charset gets UTF-8 (MCP's texts are Unicode strings).
    static func textType(_ mimeType: String?) -> String {
        guard let mimeType else { return "text/plain; charset=utf-8" }
        let lowered = mimeType.lowercased()
        if lowered.hasPrefix("text/"), !lowered.contains("charset") { return mimeType + "; charset=utf-8" }
        return mimeType
    }

    /// A type a server sends is put in a header only when it cannot break it.
    static func isHeaderSafe(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 200 && value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}
