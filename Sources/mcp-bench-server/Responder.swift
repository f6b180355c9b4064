/// What the stub makes of one incoming JSON-RPC message.
enum Outcome {
    /// A notification or a response: nothing to answer.
    case silent
    /// An answer was appended to the output; `opensSession` for a successful `initialize`.
    case answered(opensSession: Bool)
}

/// The whole MCP server: `initialize`, `ping`, `tools/list` and `tools/call` of one tool,
/// `echo {text}` → `{"content":[{"type":"text","text":<text>}]}`.
///
/// Answers are written straight into a byte array from pieces of the request (the id and the echoed
/// text are copied as they arrived), so no JSON is ever decoded or encoded.
enum Responder {
    /// Revisions we speak; a client asking for one of them gets it, any other gets the newest.
    private static let supportedVersions: [[UInt8]] = [
        Array("2025-11-25".utf8), Array("2025-06-18".utf8), Array("2025-03-26".utf8), Array("2024-11-05".utf8),
    ]

    /// The result of `tools/list` and the closing brace of its answer.
    private static let toolsListResult = Array(
        (#"{"tools":[{"name":"echo","description":"Returns its text unchanged.","#
            + #""inputSchema":{"type":"object","properties":{"text":{"type":"string","title":"Text"}},"#
            + #""required":["text"]}}]}}"#).utf8)

    /// The rest of the result of `initialize` after the protocol version, and the closing brace.
    private static let initializeResultTail = Array(
        (#"","capabilities":{"tools":{"listChanged":false}},"#
            + #""serverInfo":{"name":"mcp-bench-server","version":"1.0.0"}}}"#).utf8)

    /// Reads the message in `message` and appends its answer, if it needs one, to `output`.
    static func handle(_ message: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Outcome {
        let scan = JSONScan(message)
        guard let root = scan.root else {
            output.appendError(id: nil, scan: scan, code: -32700, message: "Parse error")
            return .answered(opensSession: false)
        }
        guard let methodValue = scan.member("method", in: root), let method = scan.stringContents(methodValue) else {
            return .silent  // a response to something we never asked, or not a request at all
        }
        guard let id = scan.member("id", in: root) else { return .silent }  // a notification
        let params = scan.member("params", in: root)

        if scan.equals(method, "tools/call") {
            guard let params, let name = scan.member("name", in: params), scan.equals(name, "\"echo\"") else {
                output.appendError(id: id, scan: scan, code: -32602, message: "Unknown tool")
                return .answered(opensSession: false)
            }
            guard let arguments = scan.member("arguments", in: params), let text = scan.member("text", in: arguments),
                scan.isString(text)
            else {
                output.appendError(id: id, scan: scan, code: -32602, message: "Argument 'text' must be a string")
                return .answered(opensSession: false)
            }
            output.appendHead(id: id, scan: scan)
            output.append(#"{"content":[{"type":"text","text":"#)
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: message[text]))
            output.append("}]}}")
            return .answered(opensSession: false)
        }
        if scan.equals(method, "tools/list") {
            output.appendHead(id: id, scan: scan)
            output.append(contentsOf: toolsListResult)
            return .answered(opensSession: false)
        }
        if scan.equals(method, "initialize") {
            var version = supportedVersions[0]
            if let params, let asked = scan.member("protocolVersion", in: params),
                let askedText = scan.stringContents(asked),
                let known = supportedVersions.first(where: { scan.equals(askedText, $0) })
            {
                version = known
            }
            output.appendHead(id: id, scan: scan)
            output.append(#"{"protocolVersion":""#)
            output.append(contentsOf: version)
            output.append(contentsOf: initializeResultTail)
            return .answered(opensSession: true)
        }
        if scan.equals(method, "ping") {
            output.appendHead(id: id, scan: scan)
            output.append("{}}")
            return .answered(opensSession: false)
        }
        output.appendError(id: id, scan: scan, code: -32601, message: "Method not found")
        return .answered(opensSession: false)
    }
}

extension [UInt8] {
    fileprivate mutating func append(_ literal: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// `{"jsonrpc":"2.0","id":<id>,"result":` — the caller appends the result and the closing brace.
    fileprivate mutating func appendHead(id: Range<Int>, scan: JSONScan) {
        append(#"{"jsonrpc":"2.0","id":"#)
        append(contentsOf: UnsafeRawBufferPointer(rebasing: scan.bytes[id]))
        append(#","result":"#)
    }

    fileprivate mutating func appendError(id: Range<Int>?, scan: JSONScan, code: Int, message: StaticString) {
        append(#"{"jsonrpc":"2.0","id":"#)
        if let id {
            append(contentsOf: UnsafeRawBufferPointer(rebasing: scan.bytes[id]))
        } else {
            append("null")
        }
        append(#","error":{"code":"#)
        append(contentsOf: String(code).utf8)
        append(#","message":""#)
        append(message)
        append("\"}}")
    }
}
