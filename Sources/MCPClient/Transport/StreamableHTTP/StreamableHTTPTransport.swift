import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

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

    struct State {
        /// Where requests go and with which session: a value with transitions of its own (`HTTPSessionState`).
        var session: HTTPSessionState
        /// The POSTs in flight, by request id.
        var exchanges: [Int: Exchange] = [:]
        /// The task keeping the GET stream of server messages open (stateful mode).
        var listener: Task<Void, Never>?
        var receiver: (any TransportReceiver)?
        var expiryHandler: (@Sendable () -> Void)?
    }

    /// The answer to a request sent on the keep-alive fast path, with the session and version it was sent under
    /// (a renewal may have replaced them since: a 404 is about the session the request carried).
    struct EarlyAnswer {
        var result: Result<UpstreamAnswer, any Error>
        var session: String?
        var version: String?
    }

    /// A POST in flight: its task, or (a plain JSON answer awaited on a pooled connection, without a task) the
    /// connection, whose closing abandons it.
    enum Exchange {
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
    let originalEndpoint: URL
    let staticHeaders: [(name: String, value: String)]
    /// A `Host` among the configured headers: sent instead of the URL's authority.
    let configuredHost: String?
    /// What every POST carries, prepared once: the configured headers but those each request sets itself, with
    /// `Accept` and `Content-Type`.
    let postHeaders: HTTPHeaders
    /// OAuth: the `Authorization` of every request (it wins over a static one), and what to do on 401/403.
    let authorizer: (any UpstreamAuthorizer)?
    let serverName: String
    let logger: Logger
    let client: HTTPClient
    let keepAlive: KeepAliveHTTPClient?
    let eventLoop: any EventLoop
    let state: Mutex<State>
    /// Settled once the first GET stream has its answer (open, or declined) or could not be made.
    let listening: Settlement<Void>

    init(
        endpoint: URL, headers: [(name: String, value: String)], mode: Mode, serverName: String,
        receiver: any TransportReceiver, logger: Logger, client: HTTPClient, keepAlive: KeepAliveHTTPClient? = nil,
        eventLoop: any EventLoop, authorizer: (any UpstreamAuthorizer)? = nil
    ) {
        self.mode = mode
        self.originalEndpoint = endpoint
        self.staticHeaders = headers
        var postHeaders = HTTPExchange.configuredHeaders(
            headers,
            except: [
                "host", "accept", "content-type", "content-length", "mcp-session-id", "mcp-protocol-version",
                "mcp-method", "mcp-name",
            ])
        postHeaders.add(name: "Accept", value: "application/json, text/event-stream")
        postHeaders.add(name: "Content-Type", value: "application/json")
        self.postHeaders = postHeaders
        self.authorizer = authorizer
        self.serverName = serverName
        self.logger = logger
        self.client = client
        self.keepAlive = keepAlive
        self.eventLoop = eventLoop
        let configuredHost = HTTPExchange.configuredHost(headers)
        self.configuredHost = configuredHost
        var version: String?
        if case .stateless(let stateless) = mode { version = stateless }
        self.state = Mutex(
            State(
                session: HTTPSessionState(endpoint: endpoint, configuredHost: configuredHost, protocolVersion: version),
                receiver: receiver))
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
    var sessionID: String? { state.withLock { $0.session.sessionID } }

    // MARK: - MCPTransport

    func send(_ message: OutboundMessage) -> EventLoopFuture<Void> {
        // The caller's loop when it runs on one: completing a promise of another loop wakes that loop's thread.
        let promise = (MultiThreadedEventLoopGroup.currentEventLoop ?? eventLoop).makePromise(of: Void.self)
        if !sendOnIdleConnection(message, promise: promise) { startExchange(message, promise: promise) }
        return promise.futureResult
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
            _ = state.session.close(reason: "the transport was shut down")
            state.receiver = nil
            state.expiryHandler = nil
            defer {
                state.exchanges.removeAll()
                state.listener = nil
            }
            return (
                Array(state.exchanges.values) + [state.listener].compactMap { $0 }.map(Exchange.task),
                state.session.sessionID, state.session.endpoint, state.session.protocolVersion
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
        state.withLock { $0.session.protocolVersion = version }
    }

    func resetSession() {
        let listener = state.withLock { state in
            state.session.reset()
            defer { state.listener = nil }
            return state.listener
        }
        listener?.cancel()
    }

    func onSessionExpired(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.expiryHandler = handler }
    }

    // MARK: - Ending

    func expire(_ session: String) {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            state.session.expire(session) ? state.expiryHandler : nil
        }
        if handler != nil {
            logger.info("[\(serverName)] the server ended session \(session); starting a new one")
        }
        handler?()
    }

    /// Ends the transport for good: the server cannot be reached.
    func close(reason: String) {
        let (receiver, exchanges) = state.withLock { state -> ((any TransportReceiver)?, [Exchange]) in
            guard state.session.close(reason: reason) else { return (nil, []) }
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
