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

/// One upstream server over its whole life: connects on start, reconnects (respawns a stdio child) on the
/// next call after a disconnect, follows `notifications/tools/list_changed`, and stops its child on
/// shutdown.
public final class UpstreamServer: Sendable {
    public typealias SnapshotObserver = @Sendable (UpstreamSnapshot) -> Void

    private enum Phase {
        case idle(lastFailure: String?)
        case connecting(Task<MCPSession, any Error>)
        case ready(MCPSession, generation: Int)
        case stopped
    }

    public let entry: ServerEntry
    private let client: ClientIdentity
    private let startupTimeout: Double
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let phase = Mutex(Phase.idle(lastFailure: nil))
    private let generation = Mutex(0)
    private let latest = Mutex<UpstreamSnapshot?>(nil)
    private let observer = Mutex<SnapshotObserver?>(nil)

    public init(
        entry: ServerEntry, client: ClientIdentity, startupTimeout: Double, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.entry = entry
        self.client = client
        self.startupTimeout = startupTimeout
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
    }

    public var name: String { entry.name }
    public var snapshot: UpstreamSnapshot? { latest.withLock { $0 } }

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

    /// Calls a tool, connecting first when the server is not connected.
    public func callTool(name: String, arguments: JSON, timeout: Double) async throws(MCPClientError) -> JSON {
        try await session().callTool(name: name, arguments: arguments, timeout: timeout)
    }

    /// Stops the server for good: calls in flight fail, the child is stopped.
    public func shutdown() async {
        let previous = phase.withLock { phase in
            defer { phase = .stopped }
            return phase
        }
        switch previous {
        case .ready(let session, _):
            await session.connection.close(reason: "the proxy is shutting down")
        case .connecting(let task):
            task.cancel()
            if let session = try? await task.value {
                await session.connection.close(reason: "the proxy is shutting down")
            }
        case .idle, .stopped:
            break
        }
    }

    // MARK: - Connecting

    private func session() async throws(MCPClientError) -> MCPSession {
        let task: Task<MCPSession, any Error>
        switch phase.withLock({ phase -> Result<Task<MCPSession, any Error>, MCPClientError>? in
            switch phase {
            case .ready:
                return nil
            case .connecting(let task):
                return .success(task)
            case .stopped:
                return .failure(.unavailable(reason: "the proxy is shutting down"))
            case .idle:
                let task = Task { try await self.connect() }
                phase = .connecting(task)
                return .success(task)
            }
        }) {
        case nil:
            if case .ready(let session, _) = phase.withLock({ $0 }) { return session }
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
        let generation = self.generation.withLock { value in
            value += 1
            return value
        }
        do {
            let session = try await openSession(generation: generation)
            let tools = try await session.listTools(timeout: startupTimeout)
            let snapshot = UpstreamSnapshot(server: session.server, tools: tools.filter(isServed))
            let installed = phase.withLock { phase in
                guard case .connecting = phase else { return false }
                phase = .ready(session, generation: generation)
                return true
            }
            guard installed else {
                await session.connection.close(reason: "the proxy is shutting down")
                throw MCPClientError.unavailable(reason: "the proxy is shutting down")
            }
            publish(snapshot)
            logger.info(
                "[\(name)] connected: \(session.server.name) \(session.server.version), protocol \(session.server.protocolVersion), \(snapshot.tools.count) tools"
            )
            return session
        } catch {
            let reason = (error as? MCPClientError)?.description ?? "\(error)"
            phase.withLock { phase in
                if case .connecting = phase { phase = .idle(lastFailure: reason) }
            }
            throw error
        }
    }

    private func openSession(generation: Int) async throws(MCPClientError) -> MCPSession {
        let name = self.name
        let logger = self.logger
        let connection = try await RPCConnection.open(
            serverName: name, logger: logger, eventLoopGroup: eventLoopGroup,
            onNotification: { [weak self] method, params in
                self?.handleNotification(method: method, params: params, generation: generation)
            },
            onClose: { [weak self] reason in
                self?.handleClose(reason: reason, generation: generation)
            },
            connect: { receiver throws(MCPClientError) in
                try await self.makeTransport(receiver: receiver)
            })
        do {
            return try await MCPSession.handshake(over: connection, client: client, timeout: startupTimeout)
        } catch {
            await connection.close(reason: "the handshake failed")
            throw error
        }
    }

    private func makeTransport(receiver: any TransportReceiver) async throws(MCPClientError) -> any MCPTransport {
        switch entry.transport {
        case .stdio(let command):
            return try await StdioTransport.launch(
                command: command, serverName: name, receiver: receiver, logger: logger,
                eventLoopGroup: eventLoopGroup)
        case .sse, .streamableHTTP:
            throw .unavailable(reason: "the \(entry.transport.kindName) transport is not yet supported")
        }
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
        let wasCurrent = phase.withLock { phase in
            guard case .ready(_, let current) = phase, current == generation else { return false }
            phase = .idle(lastFailure: reason)
            return true
        }
        if wasCurrent {
            logger.warning("[\(name)] disconnected: \(reason); the next call reconnects")
        }
    }

    private func handleNotification(method: String, params: JSON?, generation: Int) {
        switch method {
        case "notifications/tools/list_changed":
            Task { await self.refreshTools(generation: generation) }
        case "notifications/message":
            logServerMessage(params)
        default:
            logger.debug("[\(name)] notification \(method)")
        }
    }

    private func refreshTools(generation: Int) async {
        guard case .ready(let session, let current) = phase.withLock({ $0 }), current == generation else { return }
        do {
            let tools = try await session.listTools(timeout: startupTimeout)
            publish(UpstreamSnapshot(server: session.server, tools: tools.filter(isServed)))
            logger.info("[\(name)] tool list changed: \(tools.count) tools")
        } catch {
            logger.warning("[\(name)] re-listing tools after list_changed failed: \(error)")
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
