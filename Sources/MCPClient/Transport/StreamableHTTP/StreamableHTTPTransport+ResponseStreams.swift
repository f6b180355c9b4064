import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Reading a POST's SSE answer, and resuming it with `Last-Event-ID` when it breaks (stateful mode).
extension StreamableHTTPTransport {
    // MARK: - Response streams

    /// Delivers a POST's SSE stream; when it breaks before the response, resumes it (stateful, with an
    /// event id) or reports the request lost.
    func readResponseStream(_ body: UpstreamBody, requestID: Int, method: String) async throws {
        var parser = SSEParser(maxEventBytes: HTTPExchange.maxMessageBytes)
        let breakage = await consume(body, with: &parser, until: { !self.isAwaiting(requestID) })
        guard isAwaiting(requestID) else { return }
        if Task.isCancelled { throw MCPClientError.cancelled }
        if case .stateful = mode, let lastEventID = parser.lastEventID, !lastEventID.isEmpty {
            try await resume(
                requestID: requestID, method: method, lastEventID: lastEventID, retry: parser.retryMilliseconds)
            return
        }
        let cause = breakage.map { ": \(HTTPExchange.describe($0))" } ?? ""
        throw MCPClientError.disconnected(
            reason: "the server ended the response stream of \(method) before answering\(cause)")
    }

    /// Reads events until the stream ends, or until `done` holds (a request's stream is left once its
    /// answer arrived, as the SDKs do, even if the server keeps it open); returns the error that ended it.
    func consume(
        _ body: UpstreamBody, with parser: inout SSEParser, until done: (() -> Bool)? = nil
    ) async -> (any Error)? {
        do {
            for try await chunk in body {
                for event in try parser.feed(chunk) { deliver(event) }
                if let done, done() {
                    body.leave()
                    return nil
                }
            }
            return nil
        } catch {
            return error
        }
    }

    func deliver(_ event: SSEParser.Event) {
        // Priming events (an id and empty data) and unknown event types carry no message.
        guard event.type == "message", !event.data.isEmpty else { return }
        deliver(ByteBuffer(bytes: event.data))
    }

    func deliver(_ message: ByteBuffer) {
        let receiver = state.withLock { $0.receiver }
        receiver?.receive(message: message)
    }

    func isAwaiting(_ id: Int) -> Bool {
        let receiver = state.withLock { $0.receiver }
        return receiver?.isAwaitingResponse(to: id) ?? false
    }

    /// Resumes a broken response stream with GET + `Last-Event-ID` until the response arrives (the
    /// caller's timeout bounds the whole wait; three reconnects in a row without a new event end it).
    func resume(requestID: Int, method: String, lastEventID: String, retry: Int?) async throws {
        var lastEventID = lastEventID
        var retry = retry
        var fruitless = 0
        while isAwaiting(requestID) {
            do {
                try await Task.sleep(for: .milliseconds(retry ?? 1000))
            } catch {
                throw MCPClientError.cancelled
            }
            let (response, endpoint) = try await openGETStream(lastEventID: lastEventID, purpose: "resuming \(method)")
            guard let response else {
                throw MCPClientError.disconnected(
                    reason: "the response stream of \(method) broke and \(endpoint.absoluteString) cannot resume it")
            }
            var parser = SSEParser(maxEventBytes: HTTPExchange.maxMessageBytes)
            _ = await consume(response.body, with: &parser, until: { !self.isAwaiting(requestID) })
            if let newID = parser.lastEventID, !newID.isEmpty, newID != lastEventID {
                lastEventID = newID
                fruitless = 0
            } else {
                fruitless += 1
                if fruitless >= 3 {
                    throw MCPClientError.disconnected(
                        reason: "the response stream of \(method) broke and resuming it brought nothing")
                }
            }
            retry = parser.retryMilliseconds ?? retry
        }
    }

}
