import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Controls the session side of a streamable HTTP transport; `MCPSession` drives it.
protocol HTTPSessionControl: AnyObject, Sendable {
    /// From now on every request carries `MCP-Protocol-Version: version`.
    func useProtocolVersion(_ version: String)
    /// Forgets the session id, so the next `initialize` opens a new session.
    func resetSession()
    /// Called (once per session) when the server says it no longer knows our session.
    func onSessionExpired(_ handler: @escaping @Sendable () -> Void)
    /// Waits (at most `bound`) until the stream of server-initiated messages is open or known to be absent.
    func waitUntilListening(within bound: TimeAmount) async
}

/// Streamable HTTP (MCP 2025-03-26 and later): one POST per message, answered by JSON or by an SSE stream.
///
/// Stateful mode (2025-03-26 … 2025-11-25) keeps the `Mcp-Session-Id` the server assigns, sends the
/// negotiated `MCP-Protocol-Version`, listens on the optional GET stream, resumes a broken response
/// stream with `Last-Event-ID` (after the server's `retry` delay), reports a 404 on a session request as
/// an expired session, and DELETEs the session on shutdown. Stateless mode (2026-07-28) sends the
/// version, `Mcp-Method` and `Mcp-Name` on every POST and nothing else: no session, no GET, no
/// resumption, and abandoning a request closes its response stream (that is the cancellation).
///
/// A request whose answer is plain JSON on an idle pooled connection needs no task (`sendOnIdleConnection`); every
/// other runs in its own task. Any number are in flight at once over the shared pools: POSTs to a
/// plain `http` endpoint over `KeepAliveHTTPClient`, the rest (TLS, redirects, GET streams) over
/// AsyncHTTPClient.
final class StreamableHTTPTransport: MCPTransport, HTTPSessionControl {
    enum Mode: Sendable, Equatable {
        case stateful
        case stateless(protocolVersion: String)
    }

    private struct State {
        var endpoint: URL
        /// The endpoint prepared for the keep-alive pool, when it is plain `http`.
        var keepAliveTarget: KeepAliveTarget?
        var sessionID: String?
        /// The session the server said it no longer knows; requests on it fail without a round trip.
        var expiredSessionID: String?
        var protocolVersion: String?
        var exchanges: [Int: Exchange] = [:]
        var listener: Task<Void, Never>?
        var closedReason: String?
        var receiver: (any TransportReceiver)?
        var expiryHandler: (@Sendable () -> Void)?
    }

    /// The answer to a request sent on the keep-alive fast path, with the session and version it was sent under
    /// (a renewal may have replaced them since: a 404 is about the session the request carried).
    private struct EarlyAnswer {
        var result: Result<UpstreamAnswer, any Error>
        var session: String?
        var version: String?
    }

    /// A POST in flight: its task, or (a plain JSON answer awaited on a pooled connection, without a task) the
    /// connection, whose closing abandons it.
    private enum Exchange {
        case task(Task<Void, Never>)
        case connection(any Channel)

        func cancel() {
            switch self {
            case .task(let task): task.cancel()
            case .connection(let channel): channel.close(promise: nil)
            }
        }
    }

    let mode: Mode
    private let originalEndpoint: URL
    private let staticHeaders: [(name: String, value: String)]
    /// A `Host` among the configured headers: sent instead of the URL's authority.
    private let configuredHost: String?
    /// What every POST carries, prepared once: the configured headers but those each request sets itself, with
    /// `Accept` and `Content-Type`.
    private let postHeaders: HTTPHeaders
    /// OAuth: the `Authorization` of every request (it wins over a static one), and what to do on 401/403.
    private let authorizer: (any UpstreamAuthorizer)?
    private let serverName: String
    private let logger: Logger
    private let client: HTTPClient
    private let keepAlive: KeepAliveHTTPClient?
    private let eventLoop: any EventLoop
    private let state: Mutex<State>
    /// Settled once the first GET stream has its answer (open, or declined) or could not be made.
    private let listening: Settlement<Void>

    init(
        endpoint: URL, headers: [(name: String, value: String)], mode: Mode, serverName: String,
        receiver: any TransportReceiver, logger: Logger, client: HTTPClient, keepAlive: KeepAliveHTTPClient? = nil,
        eventLoop: any EventLoop, authorizer: (any UpstreamAuthorizer)? = nil
    ) {
        self.mode = mode
        self.originalEndpoint = endpoint
        self.staticHeaders = headers
        var postHeaders = HTTPHeaders()
        let setPerRequest: Set<String> = [
            "host", "accept", "content-type", "content-length", "mcp-session-id", "mcp-protocol-version",
            "mcp-method", "mcp-name",
        ]
        for (name, value) in headers where !setPerRequest.contains(name.lowercased()) {
            postHeaders.add(name: name, value: value)
        }
        postHeaders.add(name: "Accept", value: "application/json, text/event-stream")
        postHeaders.add(name: "Content-Type", value: "application/json")
        self.postHeaders = postHeaders
        self.authorizer = authorizer
        self.serverName = serverName
        self.logger = logger
        self.client = client
        self.keepAlive = keepAlive
        self.eventLoop = eventLoop
        let configuredHost = headers.last { $0.name.lowercased() == "host" }?.value
        self.configuredHost = configuredHost
        var initial = State(
            endpoint: endpoint, keepAliveTarget: KeepAliveTarget(endpoint, hostHeader: configuredHost),
            receiver: receiver)
        if case .stateless(let version) = mode { initial.protocolVersion = version }
        self.state = Mutex(initial)
        self.listening = Settlement(eventLoop: eventLoop)
    }

    /// Waits (at most `bound`) until the GET stream for server messages is open or known to be absent,
    /// so nothing the server announces right after the handshake is missed.
    func waitUntilListening(within bound: TimeAmount) async {
        guard mode == .stateful else { return }
        let timer = eventLoop.scheduleTask(in: bound) { [listening] in listening.settle(.success(())) }
        _ = try? await listening.value
        timer.cancel()
    }

    var endpointDescription: String { originalEndpoint.absoluteString }
    var sessionID: String? { state.withLock { $0.sessionID } }

    // MARK: - MCPTransport

    func send(_ message: OutboundMessage) -> EventLoopFuture<Void> {
        // The caller's loop when it runs on one: completing a promise of another loop wakes that loop's thread.
        let promise = (MultiThreadedEventLoopGroup.currentEventLoop ?? eventLoop).makePromise(of: Void.self)
        if !sendOnIdleConnection(message, promise: promise) { startExchange(message, promise: promise) }
        return promise.futureResult
    }

    /// The general way: a task that may connect, authorize, follow a redirect, read a stream or resume one.
    private func startExchange(
        _ message: OutboundMessage, promise: EventLoopPromise<Void>, first: EarlyAnswer? = nil
    ) {
        let closedReason = state.withLock { state -> String? in
            if let reason = state.closedReason { return reason }
            // Created under the lock, so the task's own removal of its entry cannot come first.
            let task = Task { await self.exchange(message, promise: promise, first: first) }
            if let id = message.requestID { state.exchanges[id] = .task(task) }
            return nil
        }
        if let closedReason { promise.fail(MCPClientError.disconnected(reason: closedReason)) }
    }

    /// The hot path of a call: a request written at once on an idle pooled connection, and a JSON answer
    /// delivered from the connection's loop when it is complete, with no task and no suspension in between.
    /// Any other answer (a stream, an error, a redirect) continues the general way with the answer in hand.
    /// False when the request does not qualify (OAuth, a notification, no idle connection): nothing was sent.
    private func sendOnIdleConnection(_ message: OutboundMessage, promise: EventLoopPromise<Void>) -> Bool {
        guard authorizer == nil, let id = message.requestID, let keepAlive else { return false }
        let ready = state.withLock { state -> (KeepAliveTarget, String?, String?)? in
            guard state.closedReason == nil, let target = state.keepAliveTarget,
                state.sessionID == nil || state.sessionID != state.expiredSessionID
            else { return nil }
            return (target, state.sessionID, state.protocolVersion)
        }
        guard let (target, session, version) = ready else { return false }
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
                    if let assigned, state.sessionID == nil { state.sessionID = assigned }
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

    func abandonRequest(id: Int) -> AbandonedRequestSignal {
        let exchange = state.withLock { $0.exchanges.removeValue(forKey: id) }
        exchange?.cancel()
        switch mode {
        case .stateless: return .handledByTransport
        // Older revisions say a dropped stream is not a cancellation, so the server is told as well.
        case .stateful: return .notifyServer
        }
    }

    func shutdown() async {
        let (exchanges, session, endpoint, version) = state.withLock { state in
            if state.closedReason == nil { state.closedReason = "the transport was shut down" }
            state.receiver = nil
            state.expiryHandler = nil
            defer {
                state.exchanges.removeAll()
                state.listener = nil
            }
            return (
                Array(state.exchanges.values) + [state.listener].compactMap { $0 }.map(Exchange.task), state.sessionID,
                state.endpoint, state.protocolVersion
            )
        }
        for exchange in exchanges { exchange.cancel() }
        guard mode == .stateful, let session else { return }
        // Ending the session is a courtesy: bounded, and a 405 (servers that keep sessions) is fine.
        // Only a token already held: ending a session never starts an authorization.
        let authorization = try? await authorizer?.authorization()
        var headers = baseHeaders(accept: nil, authorization: authorization)
        headers.replaceOrAdd(name: "Mcp-Session-Id", value: session)
        if let version { headers.replaceOrAdd(name: "MCP-Protocol-Version", value: version) }
        if let response = try? await send(.DELETE, to: endpoint, headers: headers, deadline: .now() + .seconds(5)) {
            _ = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            logger.debug("[\(serverName)] DELETE of the session answered \(response.status.code)")
        }
    }

    // MARK: - HTTPSessionControl

    func useProtocolVersion(_ version: String) {
        state.withLock { $0.protocolVersion = version }
    }

    func resetSession() {
        let listener = state.withLock { state in
            state.sessionID = nil
            state.expiredSessionID = nil
            state.protocolVersion = nil
            defer { state.listener = nil }
            return state.listener
        }
        listener?.cancel()
    }

    func onSessionExpired(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.expiryHandler = handler }
    }

    // MARK: - One POST

    private func exchange(
        _ message: OutboundMessage, promise: EventLoopPromise<Void>, first: EarlyAnswer?
    ) async {
        defer {
            if let id = message.requestID { _ = state.withLock { $0.exchanges.removeValue(forKey: id) } }
        }
        do {
            try await post(message, first: first)
            promise.succeed(())
        } catch {
            promise.fail(error)
            if case .unavailable(let reason) = error as? MCPClientError {
                // Queued behind the failure, so the request that found the server down reports exactly that.
                eventLoop.execute { self.close(reason: reason) }
            }
        }
    }

    /// `first`: the answer to this request already received on the keep-alive fast path, used instead of
    /// sending it (again).
    private func post(_ message: OutboundMessage, first: EarlyAnswer? = nil) async throws {
        let (endpoint, target, current, expired, currentVersion) = state.withLock {
            ($0.endpoint, $0.keepAliveTarget, $0.sessionID, $0.expiredSessionID, $0.protocolVersion)
        }
        let (session, version) = first.map { ($0.session, $0.version) } ?? (current, currentVersion)
        // Not yet sent, on a session the server has already forgotten: no round trip. (One already answered stays
        // answered, whatever happened to its session since.)
        if first == nil, let session, session == expired {
            throw HTTPRefusal(
                status: 404, detail: "the server no longer knows session \(session)", sessionExpired: true)
        }
        let what = message.method ?? "a response"
        let deadline: NIODeadline = message.requestID == nil ? .now() + .seconds(60) : .distantFuture
        var authorization = try await authorizer?.authorization()
        var renewedAuthorization = false
        var response: UpstreamAnswer
        var status: Int
        var first = first
        while true {
            let headers = headers(for: message, session: session, version: version, authorization: authorization)
            do {
                if let answered = first {
                    first = nil
                    response = try await followingRedirect(
                        try answered.result.get(), .POST, to: endpoint, headers: headers, body: message.body,
                        deadline: deadline)
                } else {
                    response = try await send(
                        .POST, to: endpoint, target: target, headers: headers, body: message.body, deadline: deadline)
                }
            } catch {
                throw failure(error, doing: "POST \(endpoint.absoluteString) (\(what))")
            }
            status = Int(response.status.code)
            // OAuth: a refused token is refreshed (or a step-up is asked for) and the request sent once more;
            // a second refusal is reported as any other HTTP error below.
            guard let authorizer, status == 401 || status == 403, !renewedAuthorization else { break }
            let challenges = response.headers["WWW-Authenticate"]
            _ = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            if status == 401 {
                authorization = try await authorizer.unauthorized(failed: authorization, wwwAuthenticate: challenges)
            } else {
                authorization = try await authorizer.forbidden(failed: authorization, wwwAuthenticate: challenges)
            }
            renewedAuthorization = true
        }
        adoptFinalURL(of: response)
        guard (200..<300).contains(status) else {
            let body = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            if status == 404, let session {
                expire(session)
                throw HTTPRefusal(
                    status: 404, detail: "POST \(endpoint.absoluteString) answered 404 for session \(session)",
                    sessionExpired: true)
            }
            if let rpcError = HTTPExchange.jsonRPCError(in: body) { throw rpcError }
            throw HTTPRefusal(
                status: status,
                detail:
                    "POST \(endpoint.absoluteString) (\(what)) answered \(HTTPExchange.statusText(response.status, body: body))"
            )
        }
        if mode == .stateful, session == nil, let assigned = response.headers.first(name: "Mcp-Session-Id") {
            state.withLock { if $0.sessionID == nil { $0.sessionID = assigned } }
        }
        guard let id = message.requestID else {
            _ = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            if message.method == "notifications/initialized", mode == .stateful { startListening() }
            return
        }
        let mediaType = HTTPExchange.mediaType(response.headers)
        switch mediaType {
        case "application/json":
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: HTTPExchange.maxMessageBytes)
            } catch {
                throw failure(error, doing: "reading the answer to \(what) from \(endpoint.absoluteString)")
            }
            deliver(body)
        case "text/event-stream":
            try await readResponseStream(response.body, requestID: id, method: what)
        default:
            _ = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            if status == 202 || status == 204 {
                throw MCPClientError.protocolViolation(
                    "POST \(endpoint.absoluteString) answered \(status) with no response to \(what)")
            }
            throw MCPClientError.protocolViolation(
                "\(endpoint.absoluteString) is not an MCP endpoint: POST answered \(status) with \(mediaType ?? "no content type")"
            )
        }
    }

    private func headers(
        for message: OutboundMessage, session: String?, version: String?, authorization: String?
    ) -> HTTPHeaders {
        var headers = postHeaders
        // The OAuth token wins over a configured `Authorization` header.
        if let authorization { headers.replaceOrAdd(name: "Authorization", value: authorization) }
        if let session { headers.add(name: "Mcp-Session-Id", value: session) }
        if let version { headers.add(name: "MCP-Protocol-Version", value: version) }
        if case .stateless = mode, message.kind != .response, let method = message.method {
            headers.add(name: "Mcp-Method", value: method)
            if let name = message.name { headers.add(name: "Mcp-Name", value: MCPHeaderValue.encode(name)) }
            for (name, value) in message.headers { headers.replaceOrAdd(name: name, value: value) }
        }
        return headers
    }

    /// One request: a POST to a plain `http` endpoint over the keep-alive pool (a redirect it answers is sent
    /// again through AsyncHTTPClient, which follows it), anything else over AsyncHTTPClient.
    private func send(
        _ method: HTTPMethod, to endpoint: URL, target: KeepAliveTarget? = nil, headers: HTTPHeaders,
        body: ByteBuffer? = nil, deadline: NIODeadline
    ) async throws -> UpstreamAnswer {
        if let keepAlive, let target, let body {
            let answer = UpstreamAnswer(
                try await keepAlive.execute(
                    method, target, headers: headers, body: body, deadline: deadline, preferring: eventLoop))
            return try await followingRedirect(
                answer, method, to: endpoint, headers: headers, body: body, deadline: deadline)
        }
        return try await sendThroughClient(method, to: endpoint, headers: headers, body: body, deadline: deadline)
    }

    /// A keep-alive answer as it is, unless it is a redirect: AsyncHTTPClient sends the request again and follows
    /// it.
    private func followingRedirect(
        _ answer: UpstreamAnswer, _ method: HTTPMethod, to endpoint: URL, headers: HTTPHeaders, body: ByteBuffer?,
        deadline: NIODeadline
    ) async throws -> UpstreamAnswer {
        guard answer.isRedirect else { return answer }
        _ = try? await answer.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
        return try await sendThroughClient(method, to: endpoint, headers: headers, body: body, deadline: deadline)
    }

    private func sendThroughClient(
        _ method: HTTPMethod, to endpoint: URL, headers: HTTPHeaders, body: ByteBuffer?, deadline: NIODeadline
    ) async throws -> UpstreamAnswer {
        var request = HTTPClientRequest(url: endpoint.absoluteString)
        request.method = method
        request.headers = headers
        // `headers` are the POST's, which leave `Host` to the connection (the keep-alive pool sets it).
        if let configuredHost, !headers.contains(name: "host") {
            request.headers.add(name: "Host", value: configuredHost)
        }
        if let body { request.body = .bytes(body) }
        return UpstreamAnswer(try await client.execute(request, deadline: deadline))
    }

    private func baseHeaders(accept: String?, authorization: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for (name, value) in staticHeaders { headers.add(name: name, value: value) }
        if let accept { headers.replaceOrAdd(name: "Accept", value: accept) }
        // The OAuth token wins over a static `Authorization` header.
        if let authorization { headers.replaceOrAdd(name: "Authorization", value: authorization) }
        return headers
    }

    /// After a redirect the final address is used directly, but only within the same origin: static
    /// headers (credentials) must not follow a server to another origin.
    private func adoptFinalURL(of response: UpstreamAnswer) {
        guard let final = response.url else { return }
        state.withLock { state in
            guard final != state.endpoint, HTTPExchange.sameOrigin(final, originalEndpoint) else { return }
            state.endpoint = final
            state.keepAliveTarget = KeepAliveTarget(final, hostHeader: configuredHost)
        }
    }

    private func failure(_ error: any Error, doing what: String) -> MCPClientError {
        if HTTPExchange.isCancellation(error) || Task.isCancelled { return .cancelled }
        if HTTPExchange.isConnectFailure(error) {
            return .unavailable(
                reason: "cannot reach \(originalEndpoint.absoluteString): \(HTTPExchange.describe(error))")
        }
        return .disconnected(reason: "\(what) failed: \(HTTPExchange.describe(error))")
    }

    // MARK: - Response streams

    /// Delivers a POST's SSE stream; when it breaks before the response, resumes it (stateful, with an
    /// event id) or reports the request lost.
    private func readResponseStream(_ body: UpstreamBody, requestID: Int, method: String) async throws {
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
    private func consume(
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

    private func deliver(_ event: SSEParser.Event) {
        // Priming events (an id and empty data) and unknown event types carry no message.
        guard event.type == "message", !event.data.isEmpty else { return }
        deliver(ByteBuffer(bytes: event.data))
    }

    private func deliver(_ message: ByteBuffer) {
        let receiver = state.withLock { $0.receiver }
        receiver?.receive(message: message)
    }

    private func isAwaiting(_ id: Int) -> Bool {
        let receiver = state.withLock { $0.receiver }
        return receiver?.isAwaitingResponse(to: id) ?? false
    }

    /// Resumes a broken response stream with GET + `Last-Event-ID` until the response arrives (the
    /// caller's timeout bounds the whole wait; three reconnects in a row without a new event end it).
    private func resume(requestID: Int, method: String, lastEventID: String, retry: Int?) async throws {
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

    /// GET on the endpoint for an SSE stream. Nil response when the server offers none (405 and the like).
    private func openGETStream(lastEventID: String?, purpose: String) async throws -> (UpstreamAnswer?, URL) {
        let (endpoint, session, version) = state.withLock { ($0.endpoint, $0.sessionID, $0.protocolVersion) }
        // A stream is optional: without a usable token there is none (the next call asks for authorization).
        var authorization: String?
        if let authorizer {
            do {
                authorization = try await authorizer.authorization()
            } catch {
                return (nil, endpoint)
            }
        }
        var renewedAuthorization = false
        var response: UpstreamAnswer
        var status: Int
        while true {
            var headers = baseHeaders(accept: "text/event-stream", authorization: authorization)
            if let session { headers.replaceOrAdd(name: "Mcp-Session-Id", value: session) }
            if let version { headers.replaceOrAdd(name: "MCP-Protocol-Version", value: version) }
            if let lastEventID { headers.replaceOrAdd(name: "Last-Event-ID", value: lastEventID) }
            do {
                response = try await send(.GET, to: endpoint, headers: headers, deadline: .distantFuture)
            } catch {
                throw failure(error, doing: "GET \(endpoint.absoluteString) (\(purpose))")
            }
            status = Int(response.status.code)
            guard let authorizer, status == 401, !renewedAuthorization else { break }
            let challenges = response.headers["WWW-Authenticate"]
            _ = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            do {
                authorization = try await authorizer.unauthorized(failed: authorization, wwwAuthenticate: challenges)
            } catch {
                return (nil, endpoint)
            }
            renewedAuthorization = true
        }
        if status == 200, HTTPExchange.mediaType(response.headers) == "text/event-stream" {
            return (response, endpoint)
        }
        let body = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
        if status == 404, let session {
            expire(session)
            throw HTTPRefusal(
                status: 404, detail: "GET \(endpoint.absoluteString) answered 404 for session \(session)",
                sessionExpired: true)
        }
        logger.debug(
            "[\(serverName)] GET \(endpoint.absoluteString) (\(purpose)) answered \(HTTPExchange.statusText(response.status, body: body))"
        )
        return (nil, endpoint)
    }

    // MARK: - The GET stream for server-initiated messages

    private func startListening() {
        let task = Task { await self.listen() }
        let previous = state.withLock { state -> Task<Void, Never>? in
            guard state.closedReason == nil else { return task }
            defer { state.listener = task }
            return state.listener
        }
        previous?.cancel()
    }

    /// Keeps the optional GET stream open (reconnecting after the server's `retry` delay with
    /// `Last-Event-ID`) until the server declines it, the session ends, or the server is unreachable,
    /// which closes the transport: that is how a dead stateful server is noticed between calls.
    private func listen() async {
        var lastEventID: String?
        var retry: Int?
        var quickEnds = 0
        while !Task.isCancelled {
            let opened = ContinuousClock.now
            let response: UpstreamAnswer?
            do {
                (response, _) = try await openGETStream(lastEventID: lastEventID, purpose: "server messages")
                listening.settle(.success(()))
            } catch {
                listening.settle(.success(()))
                if case .unavailable(let reason) = error as? MCPClientError { close(reason: reason) }
                return
            }
            guard let response else { return }
            var parser = SSEParser(maxEventBytes: HTTPExchange.maxMessageBytes)
            _ = await consume(response.body, with: &parser)
            lastEventID = parser.lastEventID.flatMap { $0.isEmpty ? nil : $0 } ?? lastEventID
            retry = parser.retryMilliseconds ?? retry
            // A server that closes the stream at once every time is polled, not hammered.
            quickEnds = ContinuousClock.now - opened < .seconds(1) ? quickEnds + 1 : 0
            let delay = retry ?? (quickEnds > 0 ? min(1000 * quickEnds, 30_000) : 250)
            do {
                try await Task.sleep(for: .milliseconds(delay))
            } catch {
                return
            }
        }
    }

    // MARK: - Ending

    private func expire(_ session: String) {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.sessionID == session, state.expiredSessionID != session else { return nil }
            state.expiredSessionID = session
            return state.expiryHandler
        }
        if handler != nil {
            logger.info("[\(serverName)] the server ended session \(session); starting a new one")
        }
        handler?()
    }

    /// Ends the transport for good: the server cannot be reached.
    private func close(reason: String) {
        let (receiver, exchanges) = state.withLock { state -> ((any TransportReceiver)?, [Exchange]) in
            guard state.closedReason == nil else { return (nil, []) }
            state.closedReason = reason
            defer {
                state.receiver = nil
                state.exchanges.removeAll()
                state.listener = nil
            }
            return (
                state.receiver, Array(state.exchanges.values) + [state.listener].compactMap { $0 }.map(Exchange.task)
            )
        }
        guard let receiver else { return }
        for exchange in exchanges { exchange.cancel() }
        receiver.transportClosed(reason: reason)
    }
}
