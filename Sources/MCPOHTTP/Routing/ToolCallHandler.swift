import Foundation
import HTTPTypes
import HummingbirdCore
import JSONValue
import Logging
import MCPBridge
import MCPClient
import NIOCore
import Synchronization

/// One `POST /<tool>`: read the body (bounded), validate it, call the tool, translate the outcome.
///
/// - The bound on the call is the tool's (config `toolTimeouts`), the server's (`timeout`) or `--timeout`;
///   a caller may ask for another with `X-MCPO-Timeout: <seconds>`, up to `--max-timeout`.
/// - When the HTTP client goes away, the call is cancelled upstream (`notifications/cancelled`).
/// - A call is sent again on a fresh connection only when it provably never reached the server, or when
///   the tool says it is safe to repeat (`readOnlyHint` or `idempotentHint`); never otherwise.
/// - With `Accept: text/event-stream` the answer is an SSE stream of `progress` events, then one `result`
///   (or `error`) event.
///
/// Tool arguments are never logged: they may hold anything, secrets included.
struct ToolCallHandler {
    static let timeoutHeader = HTTPField.Name("X-MCPO-Timeout")!  // a valid token, so the name exists

    let endpoint: ToolEndpoint
    /// The session that runs the call: the server's, or (multi-user OAuth) the caller's own.
    let upstream: UpstreamServer
    let maxBodyBytes: Int
    let maxTimeout: Double
    let logger: Logger

    func handle(_ request: Request, connection: ClientConnection) async -> Response {
        let started = ContinuousClock.now
        let prepared: Result<PreparedCall, HTTPAnswerFailure>
        prepared = await prepare(request)
        let response: Response
        let status: Int
        switch prepared {
        case .failure(let failure):
            status = failure.answer.status
            response = JSONResponse.answer(failure.answer)
        case .success(let call):
            if wantsEventStream(request) {
                status = 200
                response = eventStream(for: call, connection: connection)
            } else {
                let answer = await run(call, connection: connection, onProgress: nil)
                status = answer.status
                response = JSONResponse.answer(answer)
            }
        }
        let elapsed = ContinuousClock.now - started
        if logger.logLevel <= .info {
            let line = Logger.Message(
                stringLiteral: "POST " + request.uri.path + " " + endpoint.logTarget + " " + String(status) + " in "
                    + Self.milliseconds(elapsed) + " ms")
            // Written once the connection's event loop is done sending the answer: the caller does not wait
            // for the log (about 10 µs of its latency at one call at a time).
            connection.eventLoop.execute { [logger] in logger.info(line) }
        }
        return response
    }

    // MARK: - Preparing

    private struct PreparedCall: Sendable {
        let arguments: ArgumentValidator.CheckedArguments
        let timeout: Double
    }

    private struct HTTPAnswerFailure: Error {
        let answer: HTTPAnswer
    }

    private func prepare(_ request: Request) async -> Result<PreparedCall, HTTPAnswerFailure> {
        var timeout = endpoint.callTimeout
        if let asked = request.headers[Self.timeoutHeader] {
            guard let seconds = Double(asked.trimmingCharacters(in: .whitespaces)), seconds > 0, seconds.isFinite
            else {
                return .failure(
                    HTTPAnswerFailure(
                        answer: HTTPAnswer(
                            status: 400,
                            body: [
                                "detail": .string("X-MCPO-Timeout must be a positive number of seconds, got '\(asked)'")
                            ]))
                )
            }
            timeout = min(seconds, maxTimeout)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            return .failure(HTTPAnswerFailure(answer: StandardAnswers.bodyTooLarge(limit: maxBodyBytes)))
        }
        switch endpoint.operation.validator.checkedArguments(fromBody: Array(body.readableBytesView)) {
        case .success(let arguments): return .success(PreparedCall(arguments: arguments, timeout: timeout))
        case .failure(let failure):
            return .failure(HTTPAnswerFailure(answer: HTTPAnswer(status: 422, body: failure.responseBody)))
        }
    }

    private func wantsEventStream(_ request: Request) -> Bool {
        guard let accept = request.headers[.accept] else { return false }
        return Self.contains(accept, "text/event-stream") && !Self.contains(accept, "application/json")
    }

    /// A plain byte search: Foundation's `contains` costs more than the rest of the header handling.
    static func contains(_ text: String, _ word: StaticString) -> Bool {
        var text = text
        return text.withUTF8 { haystack in
            word.withUTF8Buffer { needle in
                guard needle.count <= haystack.count else { return false }
                // Both have bytes here (the words are non-empty literals), so both base addresses exist.
                for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
                    if memcmp(haystack.baseAddress! + start, needle.baseAddress!, needle.count) == 0 { return true }
                }
                return false
            }
        }
    }

    // MARK: - Calling

    /// Runs the call, cancelling it when the connection to the HTTP client closes first (a call still waiting
    /// for a slot is then never sent).
    private func run(
        _ call: PreparedCall, connection: ClientConnection, onProgress: RPCConnection.ProgressHandler?
    ) async -> HTTPAnswer {
        let cancellation = connection.clientLeft
        let server = endpoint.server
        // The common case takes a free slot without a suspension point.
        let admitted = server.gate.tryEnter() ? true : await server.gate.enter()
        guard admitted else {
            return FailureMapper.answer(
                for: .unavailable(
                    server: server.name,
                    reason: "too many calls in flight (\(server.gate.limit) running, \(server.gate.queueLimit) queued)")
            )
        }
        defer { server.gate.leave() }
        let answer = await callWithRetry(call, onProgress: onProgress, cancellation: cancellation)
        guard cancellation.isCancelled else { return answer }
        logger.info(
            "the HTTP client of \(endpoint.server.name)/\(endpoint.operation.tool.name) went away; the call was cancelled"
        )
        return HTTPAnswer(status: 499, body: ["detail": "The client closed the request"])
    }

    private func callWithRetry(
        _ call: PreparedCall, onProgress: RPCConnection.ProgressHandler?, cancellation: CallCancellation
    ) async -> HTTPAnswer {
        let tool = endpoint.operation.tool
        var attempt = 0
        while true {
            attempt += 1
            do {
                let result = try await endpoint.server.counting { () throws(MCPClientError) in
                    try await upstream.callTool(
                        name: tool.name, arguments: call.arguments.value, argumentsText: call.arguments.text,
                        timeout: call.timeout, onProgress: onProgress, cancellation: cancellation)
                }
                return ToolResultMapper.answer(for: result, outputSchema: tool.outputSchema)
            } catch {
                if attempt == 1, shouldRetry(after: error) {
                    logger.info("[\(upstream.name)] \(tool.name): \(error); sending the call again on a new connection")
                    continue
                }
                return FailureMapper.answer(for: Self.failure(error, server: endpoint.server.name))
            }
        }
    }

    /// Only when the call never reached the server, or the tool declares repeating it harmless.
    private func shouldRetry(after error: MCPClientError) -> Bool {
        switch error {
        case .notDelivered:
            return true
        case .disconnected:
            let annotations = endpoint.operation.tool.annotations
            return annotations?["readOnlyHint"]?.boolValue == true || annotations?["idempotentHint"]?.boolValue == true
        default:
            return false
        }
    }

    static func failure(_ error: MCPClientError, server: String) -> UpstreamFailure {
        switch error {
        case .rpc(let code, let message, let data):
            return .rpcError(code: code, message: message, data: data)
        case .disconnected(let reason), .notDelivered(let reason):
            return .disconnected(server: server, reason: reason)
        case .timedOut(let seconds):
            return .timedOut(server: server, seconds: seconds)
        case .unavailable(let reason):
            return .unavailable(server: server, reason: reason)
        case .cancelled:
            return .disconnected(server: server, reason: "the call was cancelled")
        case .protocolViolation(let text):
            return .disconnected(server: server, reason: "protocol violation: \(text)")
        case .responseTooLarge(let limit):
            return .disconnected(server: server, reason: "the answer is larger than the limit of \(limit) bytes")
        case .authorizationRequired(_, let body):
            return .authorization(status: 401, body: body)
        case .forbidden(let reason):
            return .authorization(
                status: 403,
                body: ["detail": ["message": .string("MCP server '\(server)' refused the call: \(reason)")]])
        }
    }

    // MARK: - Streaming

    /// `progress` events while the call runs, then `result` (the JSON a plain caller would get) or `error`
    /// (`{"status", "body"}`); a comment line every 15 s keeps idle proxies from closing the stream.
    private func eventStream(for call: PreparedCall, connection: ClientConnection) -> Response {
        let (events, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .unbounded)
        let handler = self
        let caller = Task {
            let progress: RPCConnection.ProgressHandler = { params in
                continuation.yield(Self.event("progress", params))
            }
            let answer = await handler.run(call, connection: connection, onProgress: progress)
            if answer.status < 400 {
                continuation.yield(Self.event("result", answer.body))
            } else {
                continuation.yield(Self.event("error", ["status": .int(answer.status), "body": answer.body]))
            }
            continuation.finish()
        }
        let keepAlive = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                if !Task.isCancelled { continuation.yield(ByteBuffer(string: ": keep-alive\n\n")) }
            }
        }
        continuation.onTermination = { _ in
            keepAlive.cancel()
            if connection.clientLeft.isCancelled { caller.cancel() }
        }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"  // a valid token, so the name exists
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: events))
    }

    static func event(_ name: String, _ data: JSON) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(name)\ndata: ")
        buffer.writeBytes(data.bytes)
        buffer.writeString("\n\n")
        return buffer
    }

    /// Milliseconds with one decimal, without Foundation's formatter (this runs for every call).
    static func milliseconds(_ duration: Duration) -> String {
        let tenths = duration.components.seconds * 10_000 + duration.components.attoseconds / 100_000_000_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
