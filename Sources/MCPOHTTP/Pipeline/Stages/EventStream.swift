import JSONValue
import MCPBridge
import MCPClient
import NIOCore
import NIOHTTP1

/// `Accept: text/event-stream` (without `application/json`): the answer is an SSE stream of `progress` events while
/// the call runs, then one `result` event (the JSON a plain caller would get) or `error` (`{"status", "body"}`); a
/// comment line every 15 s keeps idle proxies in between from closing it. The stages after this one run inside the
/// stream.
struct EventStream: CallStage {
    static let keepAliveInterval = Duration.seconds(15)
    var files: FileStore?
    var address = PublicAddress(rootPath: "", defaultScheme: "http")

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        guard let accept = call.request.header("accept"), Self.contains(accept, "text/event-stream"),
            !Self.contains(accept, "application/json")
        else { return await next(call) }
        let (events, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .unbounded)
        var streamed = call
        streamed.onProgress = { params in continuation.yield(Self.event("progress", params)) }
        let clientLeft = call.request.connection.clientLeft
        let operation = call.endpoint.operation
        let offload = files?.offload(for: call.request, caller: call.caller.identity.name, address: address)
        let caller = Task {
            let outcome = await next(streamed)
            // The stages inside a stream give results and failures, never an answer of their own.
            let answer =
                CallOutcome.httpAnswer(for: outcome.value, operation: operation, offload: offload)
                ?? HTTPAnswer(status: 500, body: ["detail": "The call produced no answer"])
            if answer.status < 400 {
                continuation.yield(Self.event("result", answer.body))
            } else {
                continuation.yield(Self.event("error", ["status": .int(answer.status), "body": answer.body]))
            }
            continuation.finish()
            await streamed.trail?.conclude(outcome.value, status: answer.status, body: answer.body.bytes)
        }
        let keepAlive = Self.keepAlive(continuation)
        continuation.onTermination = { _ in
            keepAlive.cancel()
            if clientLeft.isCancelled { caller.cancel() }
        }
        let headers: HTTPHeaders = [
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
        ]
        return .response(ProxyResponse(status: .ok, headers: headers, body: .stream(events)))
    }

    /// A comment line every `keepAliveInterval` on `continuation`'s stream, until the task is cancelled.
    static func keepAlive(_ continuation: AsyncStream<ByteBuffer>.Continuation) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAliveInterval)
                if !Task.isCancelled { continuation.yield(ByteBuffer(string: ": keep-alive\n\n")) }
            }
        }
    }

    static func event(_ name: String, _ data: JSON) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(name)\ndata: ")
        buffer.writeBytes(data.bytes)
        buffer.writeString("\n\n")
        return buffer
    }

    /// A plain byte search: Foundation's `contains` costs more than the rest of the header handling.
    static func contains(_ text: String, _ word: StaticString) -> Bool {
        text.firstRange(ofBytes: word) != nil
    }
}
