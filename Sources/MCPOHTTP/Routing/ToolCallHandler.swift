import Hummingbird
import JSONValue
import Logging
import MCPBridge
import MCPClient
import NIOCore

/// One `POST /<tool>`: read the body (bounded), validate it, call the tool, translate the outcome.
///
/// Tool arguments are never logged: they may hold anything, secrets included.
struct ToolCallHandler {
    let endpoint: ToolEndpoint
    let maxBodyBytes: Int
    let logger: Logger

    func handle(_ request: Request) async -> Response {
        let started = ContinuousClock.now
        let answer = await answer(for: request)
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        logger.info(
            "POST \(request.uri.path) → \(endpoint.server.name)/\(endpoint.operation.tool.name) \(answer.status) in \(String(format: "%.1f", milliseconds)) ms"
        )
        return JSONResponse.answer(answer)
    }

    private func answer(for request: Request) async -> HTTPAnswer {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return HTTPAnswer(
                status: 413,
                body: ["detail": .string("The request body is larger than the limit of \(maxBodyBytes) bytes")])
        }
        let arguments: JSON
        switch endpoint.operation.validator.arguments(fromBody: Array(body.readableBytesView)) {
        case .success(let valid): arguments = valid
        case .failure(let failure): return HTTPAnswer(status: 422, body: failure.responseBody)
        }
        do {
            let upstream = endpoint.server.upstream
            let result = try await endpoint.server.counting { () throws(MCPClientError) in
                try await upstream.callTool(
                    name: endpoint.operation.tool.name, arguments: arguments, timeout: endpoint.callTimeout)
            }
            return ToolResultMapper.answer(for: result, outputSchema: endpoint.operation.tool.outputSchema)
        } catch {
            return FailureMapper.answer(for: upstreamFailure(error))
        }
    }

    private func upstreamFailure(_ error: MCPClientError) -> UpstreamFailure {
        let server = endpoint.server.name
        switch error {
        case .rpc(let code, let message, let data):
            return .rpcError(code: code, message: message, data: data)
        case .disconnected(let reason):
            return .disconnected(server: server, reason: reason)
        case .timedOut(let seconds):
            return .timedOut(server: server, seconds: seconds)
        case .unavailable(let reason):
            return .unavailable(server: server, reason: reason)
        case .cancelled:
            return .disconnected(server: server, reason: "the call was cancelled")
        case .protocolViolation(let text):
            return .disconnected(server: server, reason: "protocol violation: \(text)")
        }
    }
}
