import JSONValue
import MCPClient

/// What a call through the stages becomes for a client of the MCP endpoint: the server's result as it sent it; a
/// tool error the model can act on (invalid arguments and a missing confirmation, as MCP 2025-11-25 asks of input
/// errors); a 2026-07-28 `input_required` result for a question; the server's own JSON-RPC error; or a JSON-RPC
/// error with the REST answer's status and body in `data`.
enum MCPCallAnswer {
    /// The key of the one input request a forwarded question is sent under.
    static let inputKey = "elicitation"

    static func answer(for value: CallOutcome.Value) -> Result<JSON, JSONRPCError> {
        switch value {
        case .result(let result):
            return .success(result)
        case .response(let response):
            // The stages of the endpoint make no HTTP answer; an answer here is a bug, said as such.
            return .failure(
                JSONRPCError(
                    code: JSONRPCError.internalErrorCode, message: "The call produced an HTTP answer",
                    data: ["status": .int(Int(response.status.code))]))
        case .failure(let failure):
            return answer(for: failure)
        }
    }

    static func answer(for failure: CallFailure) -> Result<JSON, JSONRPCError> {
        switch failure {
        case .invalidArguments(let body):
            return .success(toolError("Invalid arguments: \(body["detail"]?.text ?? body.text)"))
        case .confirmationRequired:
            return .success(toolError(failure.message))
        case .inputRequired(let question, let token):
            var params = question.objectValue ?? [:]
            if params["mode"] == nil { params["mode"] = "form" }
            return .success([
                "resultType": "input_required",
                "inputRequests": [inputKey: ["method": "elicitation/create", "params": .object(params)]],
                "requestState": .string(token),
            ])
        case .upstream(_, .rpc(let code, let message, let data)):
            return .failure(JSONRPCError(code: code, message: message, data: data))
        case .noSuchResource(_, let uri, let message):
            return .failure(
                JSONRPCError(
                    code: JSONRPCError.resourceNotFoundCode, message: "Resource not found: \(message)",
                    data: ["uri": .string(uri)]))
        default:
            let answer = failure.answer
            let code =
                switch answer.status {
                case 400, 404, 422: JSONRPCError.invalidParamsCode
                default: JSONRPCError.internalErrorCode
                }
            return .failure(
                JSONRPCError(
                    code: code, message: failure.message, data: ["status": .int(answer.status), "body": answer.body]))
        }
    }

    /// A `CallToolResult` with `isError` and one text.
    static func toolError(_ text: String) -> JSON {
        ["content": [["type": "text", "text": .string(text)]], "isError": true]
    }
}
