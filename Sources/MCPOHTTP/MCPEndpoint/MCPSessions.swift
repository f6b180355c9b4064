import Foundation
import JSONValue
import MCPClient
import NIOCore
import Synchronization

/// One session of a client of the MCP endpoint (protocol revisions with `initialize`): what was negotiated, the
/// calls it has in flight (to cancel them by their request ids), and the questions the proxy forwarded to it.
final class MCPClientSession: Sendable {
    private struct State {
        var inFlight: [JSON: CallCancellation] = [:]
        var questions: [JSON: CheckedContinuation<JSON?, Never>] = [:]
        var nextQuestion = 0
        var lastUsed = ContinuousClock.now
        var closed = false
        /// The client's `capabilities` from `initialize`.
        var clientCapabilities: JSON = [:]
    }

    let id: String
    /// The endpoint path it was made at: it is used there only.
    let path: String
    /// Who made it (`CallerKey`): nobody else may use it.
    let owner: String
    /// The 2024-11-05 HTTP+SSE transport: the stream every answer of the session goes to.
    let channel: AsyncStream<ByteBuffer>.Continuation?
    private let state = Mutex(State())

    init(id: String, path: String, owner: String, channel: AsyncStream<ByteBuffer>.Continuation? = nil) {
        self.id = id
        self.path = path
        self.owner = owner
        self.channel = channel
    }

    /// Whether the client takes `elicitation/create` requests.
    var elicits: Bool { state.withLock { $0.clientCapabilities["elicitation"] != nil } }

    /// `initialize`: what the client can do.
    func initialized(clientCapabilities: JSON) {
        state.withLock { $0.clientCapabilities = clientCapabilities }
    }

    func touch() { state.withLock { $0.lastUsed = .now } }

    /// No request since `deadline` and no call in flight; an HTTP+SSE session lives as long as its stream instead.
    func idle(since deadline: ContinuousClock.Instant) -> Bool {
        guard channel == nil else { return false }
        return state.withLock { $0.inFlight.isEmpty && $0.lastUsed < deadline }
    }

    /// Keeps the cancellation of the request `id` while it runs; false when the session was closed meanwhile.
    func track(_ id: JSON, _ cancellation: CallCancellation) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.inFlight[id] = cancellation
            return true
        }
    }

    func untrack(_ id: JSON) {
        state.withLock { state in
            state.inFlight[id] = nil
            state.lastUsed = .now
        }
    }

    /// `notifications/cancelled`: the request `id`, if it still runs, is cancelled upstream.
    func cancel(_ id: JSON) {
        state.withLock { $0.inFlight[id] }?.cancel()
    }

    /// Sends a request to the client through `send` (the stream of the call that asks) and waits for its answer,
    /// at most `timeout`; nil when none came (the caller then cancels the question upstream).
    func ask(_ method: String, _ params: JSON, timeout: Duration, send: @Sendable (JSON) -> Bool) async -> JSON? {
        let id: JSON = state.withLock { state in
            state.nextQuestion += 1
            return .string("mcpo-\(state.nextQuestion)")
        }
        let expiry = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.answer(id, with: nil)
        }
        defer { expiry.cancel() }
        return await withCheckedContinuation { (reply: CheckedContinuation<JSON?, Never>) in
            let open = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.questions[id] = reply
                return true
            }
            guard open else { return reply.resume(returning: nil) }
            if !send(JSONRPCMessage.request(id: id, method, params)) { answer(id, with: nil) }
        }
    }

    /// The client's answer to a question (`result`, or nil for an error); false when no question has that id.
    @discardableResult
    func answer(_ id: JSON, with result: JSON?) -> Bool {
        guard let reply = state.withLock({ $0.questions.removeValue(forKey: id) }) else { return false }
        reply.resume(returning: result)
        return true
    }

    /// Ends the session: its calls are cancelled, its open questions answered with nothing.
    func close() {
        let (calls, questions) = state.withLock { state in
            state.closed = true
            defer {
                state.inFlight = [:]
                state.questions = [:]
            }
            return (Array(state.inFlight.values), Array(state.questions.values))
        }
        for call in calls { call.cancel() }
        for question in questions { question.resume(returning: nil) }
    }
}

/// The open streams clients listen on for list changes: a session's GET stream, or a 2026-07-28
/// `subscriptions/listen` stream (whose notifications carry its subscription id).
struct MCPListener: Sendable {
    let path: String
    let session: String?
    /// The changes it asked for.
    let changes: Set<MCPListChange>
    /// The `subscriptions/listen` request id, stamped into each notification's `_meta`.
    let subscription: JSON?
    let stream: AsyncStream<ByteBuffer>.Continuation

    /// A session's stream: every list change, without a subscription id.
    static func session(
        _ session: MCPClientSession, at path: String, stream: AsyncStream<ByteBuffer>.Continuation
    ) -> MCPListener {
        MCPListener(
            path: path, session: session.id, changes: Set(MCPListChange.allCases), subscription: nil, stream: stream)
    }
}

/// The endpoint's sessions and listeners, kept across route-table swaps. Sessions are bounded in number and end
/// after `idleTimeout` without a request or a call in flight.
final class MCPSessions: Sendable {
    private struct State {
        var sessions: [String: MCPClientSession] = [:]
        var listeners: [Int: MCPListener] = [:]
        var nextListener = 0
    }

    static let maximum = 10_000
    let idleTimeout: Duration
    private let state = Mutex(State())

    init(idleTimeout: Duration = .seconds(3600)) {
        self.idleTimeout = idleTimeout
    }

    var count: Int { state.withLock { $0.sessions.count } }

    /// A new session, or nil when `maximum` are open (idle ones are ended first).
    func open(path: String, owner: String, channel: AsyncStream<ByteBuffer>.Continuation? = nil) -> MCPClientSession? {
        sweep()
        let session = MCPClientSession(id: Self.newID(), path: path, owner: owner, channel: channel)
        let added = state.withLock { state -> Bool in
            guard state.sessions.count < Self.maximum else { return false }
            state.sessions[session.id] = session
            return true
        }
        return added ? session : nil
    }

    /// The session `id` if `owner` made it at `path` (compared in constant time: an id is a secret).
    func session(_ id: String, path: String, owner: String) -> MCPClientSession? {
        guard let session = state.withLock({ $0.sessions[id] }), session.path == path,
            CallerKey.equalInConstantTime(session.owner, owner)
        else { return nil }
        session.touch()
        return session
    }

    /// Ends the session `id`: its calls are cancelled and its streams closed.
    func close(_ session: MCPClientSession) {
        let listeners = state.withLock { state -> [MCPListener] in
            state.sessions[session.id] = nil
            let ended = state.listeners.filter { $0.value.session == session.id }
            for key in ended.keys { state.listeners[key] = nil }
            return Array(ended.values)
        }
        session.close()
        for listener in listeners { listener.stream.finish() }
    }

    /// Ends the sessions idle for `idleTimeout` at `now`.
    func sweep(at now: ContinuousClock.Instant = .now) {
        let deadline = now - idleTimeout
        let idle = state.withLock { state in state.sessions.values.filter { $0.idle(since: deadline) } }
        for session in idle { close(session) }
    }

    /// Registers a stream; the returned key removes it.
    func listen(_ listener: MCPListener) -> Int {
        state.withLock { state in
            state.nextListener += 1
            state.listeners[state.nextListener] = listener
            return state.nextListener
        }
    }

    func stopListening(_ key: Int) {
        _ = state.withLock { $0.listeners.removeValue(forKey: key) }
    }

    /// Tells the listeners of each endpoint whose lists changed between `earlier` and `current`.
    func tablesChanged(from earlier: RouteTable, to current: RouteTable) {
        let listeners = state.withLock { Array($0.listeners.values) }
        guard !listeners.isEmpty else { return }
        var changesByPath: [String: [MCPListChange]] = [:]
        for path in Set(listeners.map(\.path)) {
            guard case .mcp(let mount, _)? = current.endpoints[path] else { continue }
            var previous: MCPMount?
            if case .mcp(let earlierMount, _)? = earlier.endpoints[path] { previous = earlierMount }
            changesByPath[path] = mount.changes(since: previous)
        }
        for listener in listeners {
            for change in changesByPath[listener.path] ?? [] where listener.changes.contains(change) {
                var params: JSON? = nil
                if let subscription = listener.subscription {
                    params = ["_meta": ["io.modelcontextprotocol/subscriptionId": subscription]]
                }
                listener.stream.yield(
                    EventStream.event("message", JSONRPCMessage.notification(change.notification, params)))
            }
        }
    }

    /// Ends every session (the proxy stops).
    func closeAll() {
        let sessions = state.withLock { Array($0.sessions.values) }
        for session in sessions { close(session) }
        let listeners = state.withLock { state in
            defer { state.listeners = [:] }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.stream.finish() }
    }

    /// 128 random bits in hex: visible ASCII, as MCP's transports ask of a session id.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let word = String(generator.next() as UInt32, radix: 16)
            return String(repeating: "0", count: 8 - word.count) + word
        }.joined()
    }
}
