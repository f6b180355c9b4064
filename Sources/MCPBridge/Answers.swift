import Foundation
import JSONValue

/// The HTTP answer for a tool call: a status and a JSON body.
public struct HTTPAnswer: Sendable, Hashable {
    public let status: Int
    public let body: JSON

    public init(status: Int, body: JSON) {
        self.status = status
        self.body = body
    }
}

/// Answers that do not depend on a tool, worded as FastAPI words them.
public enum StandardAnswers {
    public static let notFound = HTTPAnswer(status: 404, body: ["detail": "Not Found"])
    public static let methodNotAllowed = HTTPAnswer(status: 405, body: ["detail": "Method Not Allowed"])

    public static func bodyTooLarge(limit: Int) -> HTTPAnswer {
        HTTPAnswer(
            status: 413, body: ["detail": .string("The request body is larger than the limit of \(limit) bytes")])
    }
}

/// Turns an MCP `CallToolResult` into the HTTP answer.
///
/// - `isError: true` → 500 `{"detail": {"message": <all text items joined by "\n">}}`
///   ("Unknown tool execution error" when there is no text), plus `structuredContent` when the tool sent one.
///   The text is the tool's own words, not mcpo's Python-repr double wrapping.
/// - `structuredContent` present and not null → 200 with it as the body: it is the tool's typed result.
///   Except the Python SDK's wrapper: FastMCP/MCPServer wrap a non-object return value as `{"result": v}`
///   and declare an `outputSchema` whose only property is `result`. That wrapper is an SDK artefact, not
///   the tool's answer, so such a result is answered from `content` exactly as mcpo answers it (`"hello"`,
///   not `{"result":"hello"}`); drop-in users see the same bodies.
/// - otherwise each `content` item becomes a value: text is JSON-parsed when it parses (as mcpo does,
///   so `"[1,2]"` becomes an array; `hello` stays a string); image and audio become
///   `data:<mimeType>;base64,<data>`; an embedded resource becomes its `text`, or a data URL of its
///   `blob`; a `resource_link` becomes `{uri, name, title?, description?, mimeType?, size?}`; an unknown
///   item passes through unchanged. One item → that value is the body; none or several → an array.
public enum ToolResultMapper {
    /// `offload`: where image, audio and blob items larger than its limit go instead of a data URL.
    public static func answer(
        for callToolResult: JSON, outputSchema: JSON? = nil, offload: BinaryOffload? = nil
    ) -> HTTPAnswer {
        let content = callToolResult["content"]?.arrayValue ?? []
        if callToolResult["isError"]?.boolValue == true {
            let texts = content.compactMap { item in
                item["type"]?.stringValue == "text" ? item["text"]?.stringValue : nil
            }
            var detail: JSON = [
                "message": .string(texts.isEmpty ? "Unknown tool execution error" : texts.joined(separator: "\n"))
            ]
            if let structured = callToolResult["structuredContent"], !structured.isNull {
                detail["structuredContent"] = structured
            }
            return HTTPAnswer(status: 500, body: ["detail": detail])
        }
        if let structured = callToolResult["structuredContent"], !structured.isNull {
            guard isResultWrapper(structured, outputSchema: outputSchema) else {
                return HTTPAnswer(status: 200, body: structured)
            }
            if content.isEmpty, let unwrapped = structured["result"] {
                return HTTPAnswer(status: 200, body: unwrapped)
            }
        }
        let values = content.map { value(of: $0, offload: offload) }
        return HTTPAnswer(status: 200, body: values.count == 1 ? values[0] : .array(values))
    }

    /// Whether `structured` is the Python SDK's `{"result": v}` wrapper of a non-object return value.
    static func isResultWrapper(_ structured: JSON, outputSchema: JSON?) -> Bool {
        guard let object = structured.objectValue, object.count == 1, object["result"] != nil,
            let properties = outputSchema?["properties"]?.objectValue, properties.count == 1,
            properties["result"] != nil
        else { return false }
        return true
    }

    static func value(of item: JSON, offload: BinaryOffload? = nil) -> JSON {
        switch item["type"]?.stringValue {
        case "text":
            guard let text = item["text"]?.stringValue else { return item }
            return (try? JSON.parse(text)) ?? .string(text)
        case "image", "audio":
            guard let data = item["data"]?.stringValue else { return item }
            return .string(binary(mimeType: item["mimeType"]?.stringValue, base64: data, offload: offload))
        case "resource":
            guard let resource = item["resource"] else { return item }
            if let text = resource["text"]?.stringValue { return .string(text) }
            if let blob = resource["blob"]?.stringValue {
                return .string(binary(mimeType: resource["mimeType"]?.stringValue, base64: blob, offload: offload))
            }
            return item
        case "resource_link":
            var link: JSON = [:]
            for key in ["uri", "name", "title", "description", "mimeType", "size"] {
                if let value = item[key], !value.isNull { link[key] = value }
            }
            return link
        default:
            return item
        }
    }

    /// A data URL, or, when the bytes are over the offload's limit and it takes them, the URL it gives.
    static func binary(mimeType: String?, base64: String, offload: BinaryOffload?) -> String {
        if let offload, BinaryOffload.decodedLength(ofBase64: base64) > offload.limit,
            let bytes = Data(base64Encoded: base64),
            let url = offload.store(mimeType ?? "application/octet-stream", Array(bytes))
        {
            return url
        }
        return dataURL(mimeType: mimeType, base64: base64)
    }

    private static func dataURL(mimeType: String?, base64: String) -> String {
        "data:\(mimeType ?? "application/octet-stream");base64,\(base64)"
    }
}

/// Where large binaries of a result go instead of a data URL (`inlineBinaryLimit`): `store` keeps the bytes and
/// gives the URL that serves them (nil: kept inline after all).
public struct BinaryOffload: Sendable {
    public let limit: Int
    public let store: @Sendable (_ mimeType: String, _ bytes: [UInt8]) -> String?

    public init(limit: Int, store: @escaping @Sendable (_ mimeType: String, _ bytes: [UInt8]) -> String?) {
        self.limit = limit
        self.store = store
    }

    /// The bytes a base64 text holds, without decoding it.
    static func decodedLength(ofBase64 text: String) -> Int {
        let count = text.utf8.count
        var padding = 0
        if text.hasSuffix("==") { padding = 2 } else if text.hasSuffix("=") { padding = 1 }
        return count / 4 * 3 + (count % 4 == 0 ? 0 : count % 4 - 1) - padding
    }
}

/// mcpo's HTTP statuses for the JSON-RPC error a server answers a call with: -32700 and -32600 → 400, -32601 → 404,
/// -32602 → 422, anything else → 500.
public enum RPCErrorStatus {
    public static func status(forCode code: Int) -> Int {
        switch code {
        case -32700, -32600: 400
        case -32601: 404
        case -32602: 422
        default: 500
        }
    }
}
