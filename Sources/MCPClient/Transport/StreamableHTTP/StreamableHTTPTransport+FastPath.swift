import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The hot path of a call over plain `http`: no task, no suspension between the request and its JSON answer.
extension StreamableHTTPTransport {
    /// A request written at once on an idle pooled connection, and a JSON answer
    /// delivered from the connection's loop when it is complete, with no task and no suspension in between.
    /// Any other answer (a stream, an error, a redirect) continues the general way with the answer in hand.
    /// False when the request does not qualify (OAuth, a notification, no idle connection): nothing was sent.
    func sendOnIdleConnection(_ message: OutboundMessage, promise: EventLoopPromise<Void>) -> Bool {
        guard authorizer == nil, let id = message.requestID, let keepAlive else { return false }
        guard let (target, session, version) = state.withLock({ $0.session.fastPath }) else { return false }
        let headers = headers(for: message, session: session, version: version, authorization: nil)
        guard
            let (answer, channel) = keepAlive.startOnIdleConnection(
                .POST, target, headers: headers, body: message.body, deadline: .distantFuture, preferring: eventLoop)
        else { return false }
        state.withLock { $0.exchanges[id] = .connection(channel) }
        answer.whenComplete { [self] result in
            if case .success(let answer) = result, case .complete(let body) = answer.body,
                (200..<300).contains(answer.head.status.code),
                HTTPExchange.mediaType(answer.head.headers) == "application/json"
            {
                let assigned =
                    mode == .stateful && session == nil ? answer.head.headers.first(name: "Mcp-Session-Id") : nil
                let current = state.withLock { state -> Bool in
                    if let assigned { state.session.assign(session: assigned) }
                    return state.exchanges.removeValue(forKey: id) != nil
                }
                // Abandoned meanwhile (its connection closed): the answer has no one to go to.
                if current { deliver(body) }
                promise.succeed(())
                return
            }
            // The pooled connection had closed before the request was written: another one takes it.
            if case .failure(KeepAliveHTTPError.staleConnection) = result {
                startExchange(message, promise: promise)
            } else {
                startExchange(
                    message, promise: promise,
                    first: EarlyAnswer(result: result.map(UpstreamAnswer.init), session: session, version: version))
            }
        }
        return true
    }
}
