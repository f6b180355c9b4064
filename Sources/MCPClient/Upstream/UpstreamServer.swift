import JSONValue
import Logging
import MCPOConfig
import NIOCore
import NIOPosix
import Synchronization

/// One upstream server over its whole life.
///
/// Two ways to run it:
/// - `start()` connects now and throws when that fails; after a disconnect the next call reconnects
///   (stdio respawns its child), as mcpo does.
/// - `startInBackground()` never throws: it connects, and whenever the server is down it retries forever
///   with exponential backoff and jitter (0.5 s doubling to 30 s). Meanwhile calls fail at once with
///   `.unavailable` (never a hang, never a connect attempt inside a call); each successful (re)connect
///   lists the tools again and publishes a snapshot.
///
/// Either way it follows tool-list changes (`UpstreamServer+ToolList.swift`) and stops its child or ends its
/// session on shutdown. Where the connection stands is an `UpstreamLifecycle` value; supervision is in
/// `UpstreamServer+Supervision.swift`.
public final class UpstreamServer: ToolUpstream {
    public typealias SnapshotObserver = @Sendable (UpstreamSnapshot) -> Void

    typealias Lifecycle = UpstreamLifecycle<MCPSession, Task<MCPSession, any Error>>

    struct Core {
        var lifecycle = Lifecycle()
        var supervisor: Task<Void, Never>?
        var disconnects: AsyncStream<Void>.Continuation?
        var toolWatcher: Task<Void, Never>?
        /// Settled by the first `notifications/subscriptions/acknowledged` of that connection generation.
        var subscription: (generation: Int, acknowledged: Settlement<Void>)?
        var eraHint: RemoteEra?
        /// The tools as listed, before the entry's filters (their schemas drive `Mcp-Param-*` headers, their
        /// annotations whether a call may be sent again).
        var listedTools: [String: JSON] = [:]
    }

    public let entry: ServerEntry
    private let client: ClientIdentity
    let startupTimeout: Double
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    let backoff: Backoff
    private let limits: UpstreamLimits
    /// OAuth toward a streamable HTTP server: tokens on every request, and what to do when they are refused.
    let authorizer: (any UpstreamAuthorizer)?
    private let stderrTail = StderrTail()
    let core = Mutex(Core())
    private let latest = Mutex<UpstreamSnapshot?>(nil)
    private let observer = Mutex<SnapshotObserver?>(nil)

    public convenience init(
        entry: ServerEntry, client: ClientIdentity, startupTimeout: Double, logger: Logger,
        limits: UpstreamLimits = UpstreamLimits(), authorizer: (any UpstreamAuthorizer)? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.init(
            entry: entry, client: client, startupTimeout: startupTimeout, logger: logger,
            eventLoopGroup: eventLoopGroup, backoff: Backoff(), limits: limits, authorizer: authorizer)
    }

    init(
        entry: ServerEntry, client: ClientIdentity, startupTimeout: Double, logger: Logger,
        eventLoopGroup: any EventLoopGroup, backoff: Backoff, limits: UpstreamLimits = UpstreamLimits(),
        authorizer: (any UpstreamAuthorizer)? = nil
    ) {
        self.limits = limits
        self.authorizer = authorizer
        self.entry = entry
        var client = client
        client.answers.roots = entry.features.roots
        client.answers.elicitation = entry.features.elicitation
        self.client = client
        self.startupTimeout = startupTimeout
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.backoff = backoff
    }

    public var snapshot: UpstreamSnapshot? { latest.withLock { $0 } }

    /// Closes the HTTP client all remote servers share; call once at exit, after every `shutdown()`.
    public static func shutdownSharedHTTPClient() async {
        await UpstreamHTTPClient.shutdown()
    }

    public var status: UpstreamStatus {
        let snapshot = self.snapshot
        let (state, lastError, reconnections) = core.withLock {
            ($0.lifecycle.state(now: .now), $0.lifecycle.lastError, $0.lifecycle.reconnections)
        }
        return UpstreamStatus(
            state: state, toolCount: snapshot?.tools.count ?? 0, serverName: snapshot?.server.name,
            protocolVersion: snapshot?.server.protocolVersion, lastError: lastError,
            recentStderr: stderrTail.recent, reconnections: reconnections)
    }

    public func observe(_ observer: @escaping SnapshotObserver) {
        self.observer.withLock { $0 = observer }
    }

    @discardableResult
    public func start() async throws(MCPClientError) -> UpstreamSnapshot {
        _ = try await session()
        guard let snapshot else { throw .unavailable(reason: "the server has no tool list yet") }
        return snapshot
    }

    /// Calls a tool. Supervised: fails at once with `.unavailable` while the server is not connected. Otherwise:
    /// connects first when needed.
    ///
    /// A call is sent once more, on a new connection, only when it provably never reached the server, or when the
    /// tool declares repeating it harmless (`readOnlyHint` or `idempotentHint`) and its connection broke.
    public func callTool(_ request: ToolCallRequest) async throws(MCPClientError) -> JSON {
        do {
            return try await callOnce(request)
        } catch {
            guard mayRepeat(request.name, after: error) else { throw error }
            logger.info("[\(name)] \(request.name): \(error); sending the call again on a new connection")
            return try await callOnce(request)
        }
    }

    private func callOnce(_ request: ToolCallRequest) async throws(MCPClientError) -> JSON {
        let session = try await sessionForCall()
        let headers =
            parameterHeaders(tool: request.name, arguments: request.arguments, session: session) + request.headers
        return try await session.callTool(
            name: request.name, arguments: request.arguments, argumentsText: request.argumentsText,
            timeout: request.timeout, headers: headers, meta: request.meta, onProgress: request.onProgress,
            onInput: request.onInput, cancellation: request.cancellation)
    }

    /// Sends a request other than a tool call (resources, prompts): reading requests, so one whose connection
    /// broke is sent once more on a new connection.
    public func send(_ request: UpstreamRequest) async throws(MCPClientError) -> JSON {
        do {
            return try await sendOnce(request)
        } catch .notDelivered, .disconnected {
            logger.info("[\(name)] \(request.method): the connection broke; sending it again on a new connection")
            return try await sendOnce(request)
        }
    }

    private func sendOnce(_ request: UpstreamRequest) async throws(MCPClientError) -> JSON {
        let session = try await sessionForCall()
        switch request.listing {
        case let member?:
            let elements = try await session.listEvery(
                request.method, member: member, timeout: request.timeout, headers: request.headers,
                cancellation: request.cancellation)
            return .object([member: .array(elements)])
        case nil:
            return try await session.interactiveRequest(
                request.method, params: request.params ?? [:], timeout: request.timeout, headers: request.headers,
                cancellation: request.cancellation)
        }
    }

    private func mayRepeat(_ tool: String, after error: MCPClientError) -> Bool {
        switch error {
        case .notDelivered:
            return true
        case .disconnected:
            let annotations = core.withLock { $0.listedTools[tool]?["annotations"] }
            return annotations?["readOnlyHint"]?.boolValue == true || annotations?["idempotentHint"]?.boolValue == true
        default:
            return false
        }
    }

    /// Stops the server for good: calls in flight fail, the child is stopped, the HTTP session ended.
    public func shutdown() async {
        let (previous, supervisor, watcher, disconnects) = core.withLock { core in
            defer {
                core.supervisor = nil
                core.toolWatcher = nil
                core.disconnects = nil
            }
            return (core.lifecycle.stop(), core.supervisor, core.toolWatcher, core.disconnects)
        }
        supervisor?.cancel()
        watcher?.cancel()
        disconnects?.finish()
        switch previous {
        case .ready(let session, _):
            await session.close(reason: "the proxy is shutting down")
        case .connecting(let task):
            task.cancel()
            if let session = try? await task.value {
                await session.close(reason: "the proxy is shutting down")
            }
        case .idle, .waiting, .awaitingAuthorization, .stopped:
            break
        }
    }

    var isStopped: Bool { core.withLock { $0.lifecycle.isStopped } }

    // MARK: - Connecting

    private func sessionForCall() async throws(MCPClientError) -> MCPSession {
        let isStdio: Bool
        if case .stdio = entry.transport { isStdio = true } else { isStdio = false }
        switch core.withLock({ $0.lifecycle.callAccess(isStdio: isStdio) }) {
        case .ready(let session):
            return session
        case .refused(let error):
            throw error
        case .awaitingAuthorization(let url):
            guard let authorizer else { throw .authorizationRequired(AuthorizationLink(url: url)) }
            // The current link (a new one when the last expired or failed), or a token obtained meanwhile.
            _ = try await authorizer.unauthorized(failed: nil, wwwAuthenticate: [])
            throw .unavailable(reason: "authorized; connecting to the server")
        case .connect, nil:
            return try await session()
        }
    }

    func session() async throws(MCPClientError) -> MCPSession {
        let access = core.withLock { core in
            core.lifecycle.requestSession { Task { try await self.connect() } }
        }
        switch access {
        case .ready(let session):
            return session
        case .refused(let error):
            throw error
        case .connecting(let attempt):
            do {
                return try await attempt.value
            } catch let error as MCPClientError {
                throw error
            } catch {
                throw .unavailable(reason: "\(error)")
            }
        }
    }

    private func connect() async throws -> MCPSession {
        let generation = core.withLock { $0.lifecycle.beginAttempt() }
        var opened: MCPSession?
        var watcher: Task<Void, Never>?
        do {
            let session = try await openSession(generation: generation)
            opened = session
            // Listen first, then list: a change announced in between is not lost.
            watcher = await openChangeNotifications(of: session, generation: generation)
            let listed = try await session.listTools(timeout: startupTimeout)
            let tools = acceptable(listed, era: session.era)
            let prompts = await listPrompts(of: session)
            let snapshot = UpstreamSnapshot(server: session.server, tools: tools.filter(isServed), prompts: prompts)
            let installed = core.withLock { core in
                guard core.lifecycle.connected(session, generation: generation) else { return false }
                core.listedTools = Self.index(tools)
                core.toolWatcher?.cancel()
                core.toolWatcher = watcher
                return true
            }
            guard installed else {
                watcher?.cancel()
                await session.close(reason: "the proxy is shutting down")
                throw MCPClientError.unavailable(reason: "the proxy is shutting down")
            }
            session.onRenewed { [weak self] session in
                Task { await self?.refreshTools(generation: generation) }
            }
            publish(snapshot)
            logger.info(
                "[\(name)] connected: \(session.server.name) \(session.server.version), protocol \(session.server.protocolVersion), \(snapshot.tools.count) tools"
            )
            return session
        } catch {
            let reason = (error as? MCPClientError)?.reason ?? "\(error)"
            watcher?.cancel()
            if let opened { await opened.close(reason: "listing the tools failed") }
            core.withLock { $0.lifecycle.connectFailed(reason: reason) }
            throw error
        }
    }

    private func openSession(generation: Int) async throws(MCPClientError) -> MCPSession {
        let onNotification: RPCConnection.NotificationHandler = { [weak self] method, params in
            self?.handleNotification(method: method, params: params, generation: generation)
        }
        let onClose: @Sendable (String) -> Void = { [weak self] reason in
            self?.handleClose(reason: reason, generation: generation)
        }
        switch entry.transport {
        case .stdio(let command):
            let (connection, _) = try await RPCConnection.open(
                serverName: name, logger: logger, eventLoopGroup: eventLoopGroup, answers: client.answers,
                onNotification: onNotification, onClose: onClose,
                connect: { receiver throws(MCPClientError) in
                    try await StdioTransport.launch(
                        command: command, serverName: name, receiver: receiver, logger: logger,
                        eventLoopGroup: eventLoopGroup, maxLineBytes: limits.maxMessageBytes,
                        stderrTail: stderrTail)
                })
            do {
                return try await MCPSession.handshake(over: connection, client: client, timeout: startupTimeout)
            } catch {
                await connection.close(reason: "the handshake failed")
                throw error.clientError
            }
        case .sse(let endpoint), .streamableHTTP(let endpoint):
            let kind: RemoteConnector.Kind
            if case .sse = entry.transport { kind = .sse } else { kind = .streamableHTTP }
            let connector = RemoteConnector(
                kind: kind, endpoint: endpoint, serverName: name, client: client, timeout: startupTimeout,
                logger: logger, eventLoopGroup: eventLoopGroup, authorizer: authorizer)
            let hint = core.withLock { $0.eraHint }
            let connected = try await connector.connect(
                preferring: hint, onNotification: onNotification, onClose: onClose)
            core.withLock { $0.eraHint = connected.era }
            return connected.session
        }
    }

    /// Over streamable HTTP in the stateless era, tools whose `x-mcp-header` declarations are invalid
    /// must be left out (`2026-07-28/server/tools.mdx`).
    func acceptable(_ tools: [JSON], era: ProtocolEra) -> [JSON] {
        guard era == .stateless else { return tools }
        return tools.filter { tool in
            guard case .failure(let problem) = MCPParamHeaders.declarations(in: tool["inputSchema"]) else {
                return true
            }
            logger.warning("[\(name)] hiding tool '\(tool["name"]?.stringValue ?? "?")': \(problem.reason)")
            return false
        }
    }

    private func parameterHeaders(
        tool: String, arguments: JSON, session: MCPSession
    ) -> [(name: String, value: String)] {
        guard session.era == .stateless, let definition = core.withLock({ $0.listedTools[tool] }),
            case .success(let declarations) = MCPParamHeaders.declarations(in: definition["inputSchema"])
        else { return [] }
        return MCPParamHeaders.headers(for: declarations, arguments: arguments)
    }

    static func index(_ tools: [JSON]) -> [String: JSON] {
        var byName: [String: JSON] = [:]
        for tool in tools {
            if let name = tool["name"]?.stringValue { byName[name] = tool }
        }
        return byName
    }

    func isServed(_ tool: JSON) -> Bool {
        guard let toolName = tool["name"]?.stringValue else { return true }
        return entry.serves(tool: toolName)
    }

    func publish(_ snapshot: UpstreamSnapshot) {
        latest.withLock { $0 = snapshot }
        let observer = self.observer.withLock { $0 }
        observer?(snapshot)
    }

    // MARK: - Events from the connection

    private func handleClose(reason: String, generation: Int) {
        let (wasCurrent, supervised, watcher) = core.withLock { core -> (Bool, Bool, Task<Void, Never>?) in
            guard core.lifecycle.closed(generation: generation, reason: reason) else { return (false, false, nil) }
            defer { core.toolWatcher = nil }
            core.disconnects?.yield()
            return (true, core.supervisor != nil, core.toolWatcher)
        }
        watcher?.cancel()
        if wasCurrent {
            let next = supervised ? "reconnecting in the background" : "the next call reconnects"
            logger.warning("[\(name)] disconnected: \(reason); \(next)")
        }
    }
}
