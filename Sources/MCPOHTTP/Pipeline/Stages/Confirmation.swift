import JSONValue
import NIOCore

/// A tool at or above its server's `confirm` risk runs only with `"confirm": true` (or `mcpo_confirm` when the tool
/// has a `confirm` of its own) in its body: 428 without it, and the field is taken out before the call goes on.
struct Confirmation: CallStage {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let operation = call.endpoint.operation
        guard let field = operation.confirmField else { return await next(call) }
        let refusal = CallOutcome.failure(
            .confirmationRequired(tool: operation.tool.name, risk: operation.risk.rawValue, field: field))
        // A body that is no JSON object cannot confirm anything; it never reaches the argument check.
        guard call.body.readableBytes > 0, case .object(var object)? = try? JSON.parse(call.body.readableBytesView),
            object[field] == .bool(true)
        else { return refusal }
        object[field] = nil
        var call = call
        call.body = ByteBuffer(bytes: JSON.object(object).bytes)
        return await next(call)
    }
}
