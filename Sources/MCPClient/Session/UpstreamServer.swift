import JSONValue
import Logging
import MCPOConfig
import NIOCore
import NIOPosix
import Synchronization

/// What the proxy knows about a connected server: who it is and the tools it serves now.
public struct UpstreamSnapshot: Sendable {
    public var server: ServerIdentity
    /// The tools as `tools/list` described them, in order, already filtered by the entry's tool lists.
    public var tools: [JSON]
}

/// Where an upstream server stands, for health reports.
public enum UpstreamState: Sendable, Equatable {
    /// The first connection attempt is under way.
    case starting
    case connected
    /// Not connected; background supervision tries again in `nextAttemptIn` seconds.
    case reconnecting(lastError: String, nextAttemptIn: Double)
    /// Not connected and not retrying by itself (the next call tries again).
    case failed(String)
    /// OAuth: the server needs a user to authorize the proxy (open `url`); it connects once that is done,
    /// without retrying meanwhile.
    case awaitingAuthorization(url: String)
    case stopped
}

public struct UpstreamStatus: Sendable, Equatable {
    public var state: UpstreamState
    /// Tools served from the latest snapshot (kept while reconnecting: the routes stay up).
    public var toolCount: Int
    public var serverName: String?
    public var protocolVersion: String?
    public var lastError: String?
    /// The last lines a stdio server wrote to stderr (empty for remote servers).
    public var recentStderr: [String] = []
}

/// Bounds on what one upstream server may send.
public struct UpstreamLimits: Sendable {
    /// The largest message accepted from a stdio server; a larger answer fails its call (502).
    public var maxMessageBytes: Int

    public init(maxMessageBytes: Int = 64 * 1024 * 1024) {
        self.maxMessageBytes = maxMessageBytes
    }
}

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
/// Either way it follows tool-list changes (`notifications/tools/list_changed`, or
/// `subscriptions/listen` with 2026-07-28 servers) and stops its child or ends its session on shutdown.
public final class UpstreamServer: Sendable {
    public typealias SnapshotObserver = @Sendable (UpstreamSnapshot) -> Void

    private enum Phase {
        case idle(lastFailure: String?)
        case connecting(Task<MCPSession, any Error>)
        case ready(MCPSession, generation: Int)
        /// Supervised and backing off until `retryAt`.
        case waiting(lastError: String, retryAt: ContinuousClock.Instant)
        /// Supervised and waiting for an OAuth authorization (no retries until it changes).
        case awaitingAuthorization(url: String)
        case stopped
    }

    private struct Core {
        var phase = Phase.idle(lastFailure: nil)
        var generation = 0
        var everConnected = false
        var lastError: String?
        var supervisor: Task<Void, Never>?
        var disconnects: AsyncStream<Void>.Continuation?
        var toolWatcher: Task<Void, Never>?
        /// Settled by the first `notifications/subscriptions/acknowledged` of that connection generation.
        var subscription: (generation: Int, acknowledged: Settlement<Void>)?
        var eraHint: RemoteEra?
        /// The tools as listed, before the entry's filters (their schemas drive `Mcp-Param-*` headers).
        var listedTools: [String: JSON] = [:]
    }

    public let entry: ServerEntry
    private let client: ClientIdentity
    private let startupTimeout: Double
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let backoff: Backoff
    private let limits: UpstreamLimits
    /// OAuth toward a streamable HTTP server: tokens on every request, and what to do when they are refused.
    private let authorizer: (any UpstreamAuthorizer)?
    private let stderrTail = StderrTail()
    private let core = Mutex(Core())
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
        self.client = client
        self.startupTimeout = startupTimeout
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.backoff = backoff
    }

    public var name: String { entry.name }
    public var snapshot: UpstreamSnapshot? { latest.withLock { $0 } }

    /// Closes the HTTP client all remote servers share; call once at exit, after every `shutdown()`.
    public static func shutdownSharedHTTPClient() async {
        await UpstreamHTTPClient.shutdown()
    }

    public var status: UpstreamStatus {
        let snapshot = self.snapshot
        return core.withLock { core in
            let state: UpstreamState
            let supervised = core.supervisor != nil
            let retrying = core.everConnected || core.lastError != nil
            switch core.phase {
            case .ready:
                state = .connected
            case .connecting, .idle(lastFailure: nil):
                state = retrying ? .reconnecting(lastError: core.lastError ?? "", nextAttemptIn: 0) : .starting
            case .idle(let failure?):
                state = supervised ? .reconnecting(lastError: failure, nextAttemptIn: 0) : .failed(failure)
            case .waiting(let lastError, let retryAt):
                let remaining = ContinuousClock.now.duration(to: retryAt)
                state = .reconnecting(lastError: lastError, nextAttemptIn: max(0, remaining.seconds))
            case .awaitingAuthorization(let url):
                state = .awaitingAuthorization(url: url)
            case .stopped:
                state = .stopped
            }
            return UpstreamStatus(
                state: state, toolCount: snapshot?.tools.count ?? 0, serverName: snapshot?.server.name,
                protocolVersion: snapshot?.server.protocolVersion, lastError: core.lastError,
                recentStderr: stderrTail.recent)
        }
    }

    /// Called with every new snapshot (after a reconnect or a tool-list change).
    public func observe(_ observer: @escaping SnapshotObserver) {
        self.observer.withLock { $0 = observer }
    }

    /// Connects now and returns the first snapshot.
    @discardableResult
    public func start() async throws(MCPClientError) -> UpstreamSnapshot {
        _ = try await session()
        guard let snapshot else { throw .unavailable(reason: "the server has no tool list yet") }
        return snapshot
    }

    /// Connects in the background and keeps reconnecting (with backoff) whenever the server is down,
    /// until `shutdown()`. Returns at once; snapshots reach the observer.
    public func startInBackground() {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        core.withLock { core in
            guard core.supervisor == nil else { return }
            if case .stopped = core.phase { return }
            core.disconnects = continuation
            core.supervisor = Task { await self.supervise(disconnects: stream) }
        }
    }

    /// Calls a tool. Supervised: fails at once with `.unavailable` while the server is not connected.
    /// Otherwise: connects first when needed.
    /// `onProgress` gets the call's `notifications/progress` (a progress token is sent only when it is set);
    /// `cancellation` ends the call with `.cancelled`, as cancelling the caller's task does.
    /// `argumentsText`: the arguments as the caller sent them, when that text is exactly `arguments` (it is then
    /// sent as it is instead of being encoded again).
    public func callTool(
        name: String, arguments: JSON, argumentsText: [UInt8]? = nil, timeout: Double,
        onProgress: RPCConnection.ProgressHandler? = nil, cancellation: CallCancellation? = nil
    ) async throws(MCPClientError) -> JSON {
        let session = try await sessionForCall()
        let headers = parameterHeaders(tool: name, arguments: arguments, session: session)
        return try await session.callTool(
            name: name, arguments: arguments, argumentsText: argumentsText, timeout: timeout, headers: headers,
            onProgress: onProgress, cancellation: cancellation)
    }

    /// Stops the server for good: calls in flight fail, the child is stopped, the HTTP session ended.
    public func shutdown() async {
        let (previous, supervisor, watcher, disconnects) = core.withLock { core in
            defer {
                core.phase = .stopped
                core.supervisor = nil
                core.toolWatcher = nil
                core.disconnects = nil
            }
            return (core.phase, core.supervisor, core.toolWatcher, core.disconnects)
        }
        supervisor?.cancel()
        watcher?.cancel()
        disconnects?.finish()
        switch previous {
        case .ready(let session, _):
            await session.connection.close(reason: "the proxy is shutting down")
        case .connecting(let task):
            task.cancel()
            if let session = try? await task.value {
                await session.connection.close(reason: "the proxy is shutting down")
            }
        case .idle, .waiting, .awaitingAuthorization, .stopped:
            break
        }
    }

    // MARK: - Supervision

    private func supervise(disconnects: AsyncStream<Void>) async {
        var failures = 0
        var iterator = disconnects.makeAsyncIterator()
        while !Task.isCancelled {
            do {
                _ = try await session()
                failures = 0
                // Connected: sleep until the connection ends, then reconnect.
                guard await iterator.next() != nil else { return }
            } catch {
                if Task.isCancelled || isStopped { return }
                if case .authorizationRequired(let url, _) = error, let authorizer {
                    // Nothing to retry until a user acts: wait for the authorization, then connect.
                    failures = 0
                    let waiting = core.withLock { core -> Bool in
                        guard case .idle = core.phase else { return false }
                        core.phase = .awaitingAuthorization(url: url)
                        return true
                    }
                    guard waiting else { continue }
                    logger.warning("[\(name)] OAuth authorization required; connecting once it is done")
                    await authorizer.authorizationChanged()
                    continue
                }
                let delay = backoff.delay(afterFailures: failures)
                failures += 1
                let reason = error.reason
                let waiting = core.withLock { core -> Bool in
                    guard case .idle = core.phase else { return false }
                    core.phase = .waiting(lastError: reason, retryAt: .now + .milliseconds(Int64(delay * 1000)))
                    return true
                }
                guard waiting else { continue }
                logger.warning(
                    "[\(name)] cannot connect: \(reason); retrying in \(String(format: "%.1f", delay)) s")
                do {
                    try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                } catch {
                    return
                }
            }
        }
    }

    private var isStopped: Bool {
        core.withLock { core in
            if case .stopped = core.phase { return true }
            return false
        }
    }

    // MARK: - Connecting

    private func sessionForCall() async throws(MCPClientError) -> MCPSession {
        let isStdio: Bool
        if case .stdio = entry.transport { isStdio = true } else { isStdio = false }
        let supervised: Result<MCPSession, MCPClientError>? = core.withLock { core in
            guard core.supervisor != nil else { return nil }
            switch core.phase {
            case .ready(let session, _):
                return .success(session)
            case .stopped:
                return .failure(.unavailable(reason: "the proxy is shutting down"))
            case .idle where isStdio, .connecting where isStdio:
                // A crashed child is respawned by the next call (or the call joins the respawn), as in mcpo:
                // local and quick. Only a child that keeps failing (backoff) is answered at once.
                return nil
            case .connecting where !core.everConnected:
                return .failure(.unavailable(reason: "still connecting to the server"))
            case .awaitingAuthorization(let url):
                return .failure(.authorizationRequired(url: url, body: [:]))
            default:
                return .failure(
                    .unavailable(reason: "reconnecting to the server; last error: \(core.lastError ?? "none")"))
            }
        }
        if let supervised {
            if case .failure(.authorizationRequired) = supervised, let authorizer {
                // The current link (a new one when the last expired or failed), or a token obtained meanwhile.
                _ = try await authorizer.unauthorized(failed: nil, wwwAuthenticate: [])
                throw .unavailable(reason: "authorized; connecting to the server")
            }
            return try supervised.get()
        }
        return try await session()
    }

    private func session() async throws(MCPClientError) -> MCPSession {
        let task: Task<MCPSession, any Error>
        switch core.withLock({ core -> Result<Task<MCPSession, any Error>, MCPClientError>? in
            switch core.phase {
            case .ready:
                return nil
            case .connecting(let task):
                return .success(task)
            case .stopped:
                return .failure(.unavailable(reason: "the proxy is shutting down"))
            case .idle, .waiting, .awaitingAuthorization:
                let task = Task { try await self.connect() }
                core.phase = .connecting(task)
                return .success(task)
            }
        }) {
        case nil:
            if case .ready(let session, _) = core.withLock({ $0.phase }) { return session }
            return try await self.session()
        case .failure(let error):
            throw error
        case .success(let connecting):
            task = connecting
        }
        do {
            return try await task.value
        } catch let error as MCPClientError {
            throw error
        } catch {
            throw .unavailable(reason: "\(error)")
        }
    }

    private func connect() async throws -> MCPSession {
        let generation = core.withLock { core in
            core.generation += 1
            return core.generation
        }
        var opened: MCPSession?
        var watcher: Task<Void, Never>?
        do {
            let session = try await openSession(generation: generation)
            opened = session
            // Listen first, then list: a change announced in between is not lost.
            watcher = await openChangeNotifications(of: session, generation: generation)
            let listed = try await session.listTools(timeout: startupTimeout)
            let tools = acceptable(listed, era: session.era)
            let snapshot = UpstreamSnapshot(server: session.server, tools: tools.filter(isServed))
            let installed = core.withLock { core in
                guard case .connecting = core.phase else { return false }
                core.phase = .ready(session, generation: generation)
                core.everConnected = true
                core.lastError = nil
                core.listedTools = Self.index(tools)
                core.toolWatcher?.cancel()
                core.toolWatcher = watcher
                return true
            }
            guard installed else {
                watcher?.cancel()
                await session.connection.close(reason: "the proxy is shutting down")
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
            if let opened { await opened.connection.close(reason: "listing the tools failed") }
            core.withLock { core in
                if case .connecting = core.phase { core.phase = .idle(lastFailure: reason) }
                core.lastError = reason
            }
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
            let connection = try await RPCConnection.open(
                serverName: name, logger: logger, eventLoopGroup: eventLoopGroup,
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
    private func acceptable(_ tools: [JSON], era: ProtocolEra) -> [JSON] {
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

    private static func index(_ tools: [JSON]) -> [String: JSON] {
        var byName: [String: JSON] = [:]
        for tool in tools {
            if let name = tool["name"]?.stringValue { byName[name] = tool }
        }
        return byName
    }

    private func isServed(_ tool: JSON) -> Bool {
        guard let toolName = tool["name"]?.stringValue else { return true }
        return entry.serves(tool: toolName)
    }

    private func publish(_ snapshot: UpstreamSnapshot) {
        latest.withLock { $0 = snapshot }
        let observer = self.observer.withLock { $0 }
        observer?(snapshot)
    }

    // MARK: - Events from the connection

    private func handleClose(reason: String, generation: Int) {
        let (wasCurrent, supervised, watcher) = core.withLock { core -> (Bool, Bool, Task<Void, Never>?) in
            guard case .ready(_, let current) = core.phase, current == generation else { return (false, false, nil) }
            core.phase = .idle(lastFailure: reason)
            core.lastError = reason
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

    private func handleNotification(method: String, params: JSON?, generation: Int) {
        switch method {
        case "notifications/tools/list_changed":
            Task { await self.refreshTools(generation: generation) }
        case "notifications/subscriptions/acknowledged":
            subscriptionAcknowledged(generation: generation)
        case "notifications/message":
            logServerMessage(params)
        default:
            logger.debug("[\(name)] notification \(method)")
        }
    }

    private func refreshTools(generation: Int) async {
        guard case .ready(let session, let current) = core.withLock({ $0.phase }), current == generation else {
            return
        }
        do {
            let tools = acceptable(try await session.listTools(timeout: startupTimeout), era: session.era)
            core.withLock { $0.listedTools = Self.index(tools) }
            publish(UpstreamSnapshot(server: session.server, tools: tools.filter(isServed)))
            logger.info("[\(name)] tool list changed: \(tools.count) tools")
        } catch {
            logger.warning("[\(name)] re-listing tools after list_changed failed: \(error)")
        }
    }

    /// How long a new connection waits for its change-notification channel before listing tools.
    private static let channelBound = TimeAmount.seconds(2)

    /// Opens the channel the server announces tool changes on, and waits (bounded) until it is up.
    ///
    /// Stateful HTTP: the GET stream. 2026-07-28: a `subscriptions/listen` stream, kept open (and reopened
    /// with backoff when it breaks) by the returned task while this connection lives; a broken stream to
    /// a server that is gone makes the reopening POST fail, which is also how its death is noticed
    /// between calls. Others (stdio, legacy SSE) need nothing: their one stream is already open.
    private func openChangeNotifications(of session: MCPSession, generation: Int) async -> Task<Void, Never>? {
        guard session.era == .stateless else {
            await session.awaitServerMessageStream(within: Self.channelBound)
            return nil
        }
        guard session.server.capabilities["tools"]?["listChanged"]?.boolValue == true else { return nil }
        let eventLoop = eventLoopGroup.next()
        let acknowledged = Settlement<Void>(eventLoop: eventLoop)
        core.withLock { $0.subscription = (generation, acknowledged) }
        let task = Task {
            var quickEnds = 0
            while !Task.isCancelled {
                let opened = ContinuousClock.now
                do throws(MCPClientError) {
                    try await session.listenForToolChanges()
                } catch .rpc(let code, let message, _) {
                    logger.info("[\(name)] the server declined subscriptions/listen (\(code): \(message))")
                    acknowledged.settle(.success(()))
                    return
                } catch .cancelled {
                    return
                } catch {
                    logger.debug("[\(name)] the subscriptions/listen stream ended: \(error)")
                }
                acknowledged.settle(.success(()))
                if session.connection.isClosed { return }
                quickEnds = opened.duration(to: .now) < .seconds(5) ? quickEnds + 1 : 0
                let delay = backoff.delay(afterFailures: max(0, quickEnds - 1))
                do {
                    try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                } catch {
                    return
                }
            }
        }
        let timer = eventLoop.scheduleTask(in: Self.channelBound) { acknowledged.settle(.success(())) }
        _ = try? await acknowledged.value
        timer.cancel()
        return task
    }

    /// The first acknowledgment opens the channel; a later one follows a broken stream, during which
    /// changes may have been missed, so the tools are listed again.
    private func subscriptionAcknowledged(generation: Int) {
        let first = core.withLock { core -> Bool? in
            guard let subscription = core.subscription, subscription.generation == generation else { return nil }
            return subscription.acknowledged.settle(.success(()))
        }
        if first == false {
            Task { await self.refreshTools(generation: generation) }
        }
    }

    private func logServerMessage(_ params: JSON?) {
        let data = params?["data"]
        let text = data?.stringValue ?? data?.text ?? ""
        let source = params?["logger"]?.stringValue.map { "\($0): " } ?? ""
        let line: Logger.Message = "[\(name)] \(source)\(text)"
        switch params?["level"]?.stringValue {
        case "debug": logger.debug(line)
        case "notice", "info": logger.info(line)
        case "warning": logger.warning(line)
        case "error", "critical", "alert", "emergency": logger.error(line)
        default: logger.info(line)
        }
    }
}

/// Delays between reconnect attempts: `initial` doubling up to `maximum`, each with ±`jitter` so many
/// proxies do not hammer a recovering server in lockstep.
struct Backoff: Sendable {
    var initial = 0.5
    var maximum = 30.0
    var jitter = 0.2

    func delay(afterFailures failures: Int, random: Double = Double.random(in: -1...1)) -> Double {
        let base = min(maximum, initial * Double(1 << min(max(failures, 0), 16)))
        return min(maximum, max(0.01, base * (1 + jitter * random)))
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
