import JSONValue

/// One JSON-RPC 2.0 message a client of the MCP endpoint sent, told apart by its members.
enum JSONRPCMessage: Sendable, Equatable {
    case request(id: JSON, method: String, params: JSON?)
    case notification(method: String, params: JSON?)
    /// The client's answer to a request of the proxy's (an elicitation it forwarded).
    case response(id: JSON, result: JSON?, error: JSON?)

    /// The message in `json`, or the JSON-RPC error that says why it is none (with the id, when it has one).
    static func parse(_ json: JSON) -> Result<JSONRPCMessage, JSONRPCError> {
        guard case .object(let object) = json else {
            return .failure(.invalidRequest("A JSON-RPC message is a JSON object"))
        }
        let id = object["id"]
        if let id, !Self.isValidID(id) {
            return .failure(.invalidRequest("The id of a JSON-RPC message is a string or a number"))
        }
        guard object["jsonrpc"] == "2.0" else {
            return .failure(.invalidRequest("The message lacks \"jsonrpc\": \"2.0\"", id: id))
        }
        if let method = object["method"] {
            guard let name = method.stringValue, !name.isEmpty else {
                return .failure(.invalidRequest("\"method\" is a non-empty string", id: id))
            }
            let params = object["params"]
            if let params, params.objectValue == nil {
                return .failure(.invalidParams("\"params\" is an object", id: id))
            }
            guard let id else { return .success(.notification(method: name, params: params)) }
            return .success(.request(id: id, method: name, params: params))
        }
        guard let id, object["result"] != nil || object["error"] != nil else {
            return .failure(.invalidRequest("A message has a \"method\", or an \"id\" and a \"result\" or \"error\""))
        }
        return .success(.response(id: id, result: object["result"], error: object["error"]))
    }

    private static func isValidID(_ id: JSON) -> Bool {
        switch id {
        case .string: true
        case .number(let number): number.isIntegerLiteral
        default: false
        }
    }

    /// The result of the request `id`.
    static func result(id: JSON, _ result: JSON) -> JSON {
        ["jsonrpc": "2.0", "id": id, "result": result]
    }

    static func notification(_ method: String, _ params: JSON? = nil) -> JSON {
        var message: OrderedJSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { message["params"] = params }
        return .object(message)
    }

    static func request(id: JSON, _ method: String, _ params: JSON) -> JSON {
        ["jsonrpc": "2.0", "id": id, "method": .string(method), "params": params]
    }
}

/// A JSON-RPC error the endpoint answers with: the standard codes, MCP's, and the upstream server's as it sent them.
struct JSONRPCError: Error, Sendable, Equatable {
    var code: Int
    var message: String
    var data: JSON?
    /// The request it answers (null when the message could not be read that far).
    var id: JSON?

    static let parseErrorCode = -32700
    static let invalidRequestCode = -32600
    static let methodNotFoundCode = -32601
    static let invalidParamsCode = -32602
    static let internalErrorCode = -32603
    /// MCP 2026-07-28: the request's protocol version is not one the server speaks (`data.supported` lists them).
    static let unsupportedVersionCode = -32022
    /// MCP: `resources/read` of a resource the server does not have.
    static let resourceNotFoundCode = -32002

    static func parseError(_ message: String) -> JSONRPCError {
        JSONRPCError(code: parseErrorCode, message: message)
    }

    static func invalidRequest(_ message: String, id: JSON? = nil) -> JSONRPCError {
        JSONRPCError(code: invalidRequestCode, message: message, id: id)
    }

    static func invalidParams(_ message: String, id: JSON? = nil) -> JSONRPCError {
        JSONRPCError(code: invalidParamsCode, message: message, id: id)
    }

    static func methodNotFound(_ method: String) -> JSONRPCError {
        JSONRPCError(code: methodNotFoundCode, message: "Method not found: \(method)")
    }

    /// The error message answering the request `id` (the error's own id when it has one).
    func message(id requestID: JSON?) -> JSON {
        var error: OrderedJSONObject = ["code": .int(code), "message": .string(message)]
        if let data { error["data"] = data }
        return ["jsonrpc": "2.0", "id": requestID ?? id ?? .null, "error": .object(error)]
    }
}
