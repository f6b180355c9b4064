import JSONValue
import Logging
import MCPOConfig
import NIOCore
import NIOPosix
import Synchronization

/// What the server sent that is not a response to one of our requests.
public enum ServerMessage: Sendable {
    case notification(method: String, params: JSON?)
}

/// JSON-RPC 2.0 over any transport: any number of requests in flight, matched to responses by id.
///
/// Every wait is bounded: a request ends with its result, an error, its timeout, the caller's
/// cancellation (which is sent upstream as `notifications/cancelled`), or the end of the transport.
public final class RPCConnection: TransportReceiver {
    public typealias NotificationHandler = @Sendable (_ method: String, _ params: JSON?) -> Void

    private typealias Waiter = CheckedContinuation<Result<JSON, RequestFailure>, Never>

    private struct Pending {
        var waiter: Waiter
        /// When the request times out, and the timeout as asked for (for the error).
        var deadline: (at: NIODeadline, seconds: Double)?
        /// Receives the request's `notifications/progress` (its progress token is its id).
        var onProgress: ProgressHandler?
        /// Answers what the server asks while this request runs (elicitation).
        var onInput: InputHandler?
    }

    /// One timer for all requests, armed for the earliest deadline: a timer per request cost as much as the rest
    /// of the request's bookkeeping, and with equal timeouts a new request never moves the earliest deadline.
    private struct Sweep {
        var deadline: NIODeadline
        var timer: Scheduled<Void>
    }

    /// Called with each `notifications/progress` of one request (params without the token).
    public typealias ProgressHandler = @Sendable (JSON) -> Void
    /// Answers a request the server sends during one of this connection's requests (`elicitation/create`).
    public typealias InputHandler = @Sendable (_ method: String, _ params: JSON) async -> ServerRequestAnswers.Answer

    private struct State {
        var nextID = 1
        var pending: [Int: Pending] = [:]
        /// Ids whose caller was cancelled before its waiter was registered.
        var cancelledEarly: Set<Int> = []
        var closedReason: String?
        var sweep: Sweep?
    }

    private let state = Mutex(State())
    private let transportBox = Mutex<(any MCPTransport)?>(nil)
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let serverName: String
    private let onNotification: NotificationHandler
    private let onClose: @Sendable (String) -> Void
    private let answers: ServerRequestAnswers

    private init(
        serverName: String, eventLoop: any EventLoop, logger: Logger, answers: ServerRequestAnswers,
        onNotification: @escaping NotificationHandler, onClose: @escaping @Sendable (String) -> Void
    ) {
        self.serverName = serverName
        self.answers = answers
        self.eventLoop = eventLoop
        self.logger = logger
        self.onNotification = onNotification
        self.onClose = onClose
    }

    /// Opens a connection over the transport that `connect` makes for it; returns both (the session layer drives
    /// an HTTP session through the transport it made).
    public static func open<Transport: MCPTransport>(
        serverName: String,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        answers: ServerRequestAnswers = ServerRequestAnswers(),
        onNotification: @escaping NotificationHandler,
        onClose: @escaping @Sendable (String) -> Void,
        connect: (any TransportReceiver) async throws(MCPClientError) -> Transport
    ) async throws(MCPClientError) -> (connection: RPCConnection, transport: Transport) {
        let connection = RPCConnection(
            serverName: serverName, eventLoop: eventLoopGroup.next(), logger: logger, answers: answers,
            onNotification: onNotification, onClose: onClose)
        let transport = try await connect(connection)
        connection.transportBox.withLock { $0 = transport }
        return (connection, transport)
    }

    public var isClosed: Bool { state.withLock { $0.closedReason != nil } }

    /// Sends a request and waits for its result; `timeout` nil waits as long as the connection lives
    /// (`subscriptions/listen`, whose response only ends the subscription).
    public func request(
        _ method: String, params: JSON?, timeout: Double?, headers: [(name: String, value: String)] = [],
        onProgress: ProgressHandler? = nil, cancellation: CallCancellation? = nil
    ) async throws(MCPClientError) -> JSON {
        do {
            return try await detailedRequest(
                method, params: params, timeout: timeout, headers: headers, onProgress: onProgress,
                cancellation: cancellation)
        } catch {
            throw error.clientError
        }
    }

    /// A member of the params object whose value is JSON text encoded already (a tool's arguments as the caller
    /// sent them): written as it is, after the other members.
    struct EncodedMember: Sendable {
        let key: String
        let text: [UInt8]
    }

    /// `request`, with HTTP refusals kept apart (era detection and session renewal act on them).
    func detailedRequest(
        _ method: String, params: JSON?, encodedMember: EncodedMember? = nil, timeout: Double?,
        headers: [(name: String, value: String)] = [], onProgress: ProgressHandler? = nil,
        onInput: InputHandler? = nil, cancellation: CallCancellation? = nil
    ) async throws(RequestFailure) -> JSON {
        let id: Int
        switch state.withLock({ state -> Result<Int, RequestFailure> in
            if let reason = state.closedReason { return .failure(.client(.disconnected(reason: reason))) }
            defer { state.nextID += 1 }
            return .success(state.nextID)
        }) {
        case .success(let next): id = next
        case .failure(let error): throw error
        }
        var message: OrderedJSONObject = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        var params = params
        if onProgress != nil {
            var meta = params?["_meta"]?.objectValue ?? [:]
            meta["progressToken"] = .int(id)
            params = params ?? [:]
            params?["_meta"] = .object(meta)
        }
        let body: [UInt8]
        if let encodedMember {
            var text: [UInt8] = []
            text.reserveCapacity(96 + encodedMember.text.count)
            JSON.object(message).write(into: &text)
            text.removeLast()  // the closing brace: params follow
            text.append(contentsOf: #","params":"#.utf8)
            JSON.writeObject(
                params?.objectValue ?? [:], appending: encodedMember.key, encoded: encodedMember.text, into: &text)
            text.append(UInt8(ascii: "}"))
            body = text
        } else {
            if let params { message["params"] = params }
            body = JSON.object(message).bytes
        }
        let outbound = OutboundMessage(
            kind: .request(id: id), method: method, name: Self.mirroredName(method: method, params: params),
            headers: headers, body: ByteBuffer(bytes: body))

        var cancellationHandler: Int?
        if let cancellation {
            let handler = cancellation.register { [self] in cancel(id: id, reason: "The HTTP client went away") }
            guard let handler else { throw .client(.cancelled) }
            cancellationHandler = handler
        }
        defer {
            if let cancellationHandler { cancellation?.unregister(cancellationHandler) }
            // A cancellation that came after the answer left the id behind as cancelled early.
            if Task.isCancelled || cancellation?.isCancelled == true { forgetEarlyCancellation(of: id) }
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                guard register(id: id, waiter: waiter, timeout: timeout, onProgress: onProgress, onInput: onInput)
                else { return }
                send(outbound).whenFailure { [self] error in
                    // Transports fail with the precise reason (unreachable, HTTP status, expired session...).
                    finish(id, with: .failure(RequestFailure(error)))
                }
            }
        } onCancel: {
            cancel(id: id, reason: "The HTTP client went away")
        }
        return try result.get()
    }

    /// Sends a notification (no answer expected); the future tells whether the server took it.
    @discardableResult
    public func notify(_ method: String, params: JSON?) -> EventLoopFuture<Void> {
        var message: OrderedJSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { message["params"] = params }
        return send(
            OutboundMessage(kind: .notification, method: method, body: ByteBuffer(bytes: JSON.object(message).bytes)))
    }

    /// The value HTTP transports mirror into `Mcp-Name` (2026-07-28), for the methods that name a target.
    static func mirroredName(method: String, params: JSON?) -> String? {
        switch method {
        case "tools/call", "prompts/get": params?["name"]?.stringValue
        case "resources/read": params?["uri"]?.stringValue
        default: nil
        }
    }

    /// Fails every request in flight and ends the transport.
    public func close(reason: String) async {
        markClosed(reason: reason)
        let transport = transportBox.withLock { $0 }
        await transport?.shutdown()
    }

    /// Like `close`, but reported to the owner as the end of the connection (as if the transport closed).
    func terminate(reason: String) async {
        if markClosed(reason: reason) { onClose(reason) }
        let transport = transportBox.withLock { $0 }
        await transport?.shutdown()
    }

    // MARK: - Waiters

    /// False when the request ended before it could wait (cancelled or closed); it must not be sent then.
    private func register(
        id: Int, waiter: Waiter, timeout: Double?, onProgress: ProgressHandler?, onInput: InputHandler?
    ) -> Bool {
        let early: Result<JSON, RequestFailure>? = state.withLock { state in
            if state.cancelledEarly.remove(id) != nil { return .failure(.client(.cancelled)) }
            if let reason = state.closedReason { return .failure(.client(.disconnected(reason: reason))) }
            let deadline = timeout.map { seconds in
                (at: NIODeadline.now() + .nanoseconds(Int64(seconds * 1_000_000_000)), seconds: seconds)
            }
            state.pending[id] = Pending(waiter: waiter, deadline: deadline, onProgress: onProgress, onInput: onInput)
            if let deadline { armSweep(for: deadline.at, in: &state) }
            return nil
        }
        if let early {
            waiter.resume(returning: early)
            return false
        }
        return true
    }

    /// Resumes the waiter of `id` if it is still waiting; false when it was already finished.
    @discardableResult
    private func finish(_ id: Int, with result: Result<JSON, RequestFailure>) -> Bool {
        guard let pending = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return false }
        pending.waiter.resume(returning: result)
        return true
    }

    /// Arms the sweep for `deadline` unless it is armed for one as early already.
    private func armSweep(for deadline: NIODeadline, in state: inout State) {
        if let armed = state.sweep, armed.deadline <= deadline { return }
        state.sweep?.timer.cancel()
        // On the caller's loop when it runs on one: arming a timer on another loop wakes that loop's thread.
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? eventLoop
        let timer = loop.scheduleTask(deadline: deadline) { [weak self] in self?.sweepExpired() ?? () }
        state.sweep = Sweep(deadline: deadline, timer: timer)
    }

    /// Times out every request whose deadline has passed, then arms the sweep for the earliest one left.
    private func sweepExpired() {
        let now = NIODeadline.now()
        let expired = state.withLock { state -> [(id: Int, pending: Pending)] in
            state.sweep = nil
            var expired: [(id: Int, pending: Pending)] = []
            var earliest: NIODeadline?
            for (id, pending) in state.pending {
                guard let deadline = pending.deadline?.at else { continue }
                if deadline <= now {
                    expired.append((id, pending))
                } else if earliest.map({ deadline < $0 }) ?? true {
                    earliest = deadline
                }
            }
            for (id, _) in expired { state.pending[id] = nil }
            if let earliest { armSweep(for: earliest, in: &state) }
            return expired
        }
        for (id, pending) in expired {
            pending.waiter.resume(returning: .failure(.client(.timedOut(seconds: pending.deadline?.seconds ?? 0))))
            abandon(id: id, reason: "Request timed out")
        }
    }

    private func cancel(id: Int, reason: String) {
        let registered = state.withLock { state in
            if state.pending[id] != nil { return true }
            state.cancelledEarly.insert(id)
            return false
        }
        if registered, finish(id, with: .failure(.client(.cancelled))) {
            abandon(id: id, reason: reason)
        }
    }

    private func forgetEarlyCancellation(of id: Int) {
        _ = state.withLock { $0.cancelledEarly.remove(id) }
    }

    /// Tells the server we stopped waiting: by `notifications/cancelled`, or by the transport closing the
    /// request's response stream where that is the protocol's cancellation.
    private func abandon(id: Int, reason: String) {
        guard let transport = transportBox.withLock({ $0 }) else { return }
        if transport.abandonRequest(id: id) == .notifyServer {
            notify("notifications/cancelled", params: ["requestId": .int(id), "reason": .string(reason)])
        }
    }

    /// True when this call closed the connection (false when it was closed already).
    @discardableResult
    private func markClosed(reason: String) -> Bool {
        let (first, orphans) = state.withLock { state -> (Bool, [Pending]) in
            let first = state.closedReason == nil
            if first { state.closedReason = reason }
            state.sweep?.timer.cancel()
            state.sweep = nil
            defer { state.pending.removeAll() }
            return (first, Array(state.pending.values))
        }
        for pending in orphans {
            pending.waiter.resume(returning: .failure(.client(.disconnected(reason: reason))))
        }
        return first
    }

    private func send(_ message: OutboundMessage) -> EventLoopFuture<Void> {
        guard let transport = transportBox.withLock({ $0 }) else {
            return eventLoop.makeFailedFuture(MCPClientError.disconnected(reason: "not connected"))
        }
        return transport.send(message)
    }

    // MARK: - TransportReceiver

    public func receive(message: ByteBuffer) {
        let parsed: JSON
        do {
            parsed = try JSON.parse(message.readableBytesView)
        } catch {
            logger.warning(
                "[\(serverName)] ignored output that is not JSON-RPC (\(error)): \(String(buffer: message).prefix(200))"
            )
            return
        }
        switch parsed {
        case .array(let batch):
            batch.forEach(dispatch)
        default:
            dispatch(parsed)
        }
    }

    public func droppedOversizedMessage(prefix: ByteBuffer, limit: Int) {
        logger.error("[\(serverName)] dropped a message larger than \(limit) bytes")
        guard let id = Self.leadingID(in: prefix) else { return }
        finish(id, with: .failure(.client(.responseTooLarge(limit: limit))))
    }

    /// The `"id"` of a message from its first bytes: servers write `{"jsonrpc":"2.0","id":N,...`, so the
    /// request an oversized answer belongs to can be failed at once instead of waiting for its timeout.
    static func leadingID(in prefix: ByteBuffer) -> Int? {
        let text = String(buffer: prefix)
        guard let key = text.range(of: "\"id\"") else { return nil }
        var rest = text[key.upperBound...].drop(while: { $0 == " " || $0 == "\t" })
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
        return Int(rest.prefix(while: { $0.isNumber || $0 == "-" }))
    }

    public func transportClosed(reason: String) {
        if markClosed(reason: reason) { onClose(reason) }
    }

    public func isAwaitingResponse(to id: Int) -> Bool {
        state.withLock { $0.pending[id] != nil }
    }

    private func dispatch(_ message: JSON) {
        guard case .object(let object) = message else {
            logger.warning("[\(serverName)] ignored a JSON-RPC message that is not an object")
            return
        }
        let method = object["method"]?.stringValue
        let id = object["id"]
        if method == nil, let id {
            guard let number = id.intValue else {
                logger.warning("[\(serverName)] ignored a response with an id we never sent: \(id)")
                return
            }
            if let error = object["error"] {
                finish(
                    number,
                    with: .failure(
                        .client(
                            .rpc(
                                code: error["code"]?.intValue ?? -32603,
                                message: error["message"]?.stringValue ?? "(no message)",
                                data: error["data"].flatMap { $0.isNull ? nil : $0 }))))
            } else {
                finish(number, with: .success(object["result"] ?? .null))
            }
        } else if let method, let id {
            answerServerRequest(id: id, method: method, params: object["params"] ?? [:])
        } else if let method {
            if method == "notifications/progress", let token = object["params"]?["progressToken"]?.intValue,
                let handler = state.withLock({ $0.pending[token]?.onProgress })
            {
                var progress = object["params"]?.objectValue ?? [:]
                progress.removeValue(forKey: "progressToken")
                handler(.object(progress))
                return
            }
            onNotification(method, object["params"])
        } else {
            logger.warning("[\(serverName)] ignored a JSON-RPC message with neither method nor id")
        }
    }

    /// A server's request to the proxy: a question for the caller (`elicitation/create`) goes to the one request in
    /// flight that takes questions (none, or several, and the proxy cannot tell whose it is: refused, saying so);
    /// the rest is answered as `ServerRequestAnswers` says.
    private func answerServerRequest(id: JSON, method: String, params: JSON) {
        if method == "elicitation/create", answers.elicitation {
            let askers = state.withLock { state in state.pending.values.compactMap(\.onInput) }
            if askers.count == 1, let ask = askers.first {
                Task {
                    let answer = await ask(method, params)
                    self.reply(to: id, method: method, with: answer)
                }
                return
            }
            let why =
                askers.isEmpty
                ? "no call of the proxy waits for an answer now"
                : "\(askers.count) calls are in flight on this connection and the proxy cannot tell which one asks"
            reply(
                to: id, method: method, with: .error(code: -32603, message: "The proxy cannot ask its caller: \(why)"))
            return
        }
        reply(to: id, method: method, with: answers.answer(method: method))
    }

    private func reply(to id: JSON, method: String, with answer: ServerRequestAnswers.Answer) {
        var reply: OrderedJSONObject = ["jsonrpc": "2.0", "id": id]
        switch answer {
        case .result(let result):
            reply["result"] = result
        case .error(let code, let message):
            logger.info("[\(serverName)] the server asked for \(method): \(message)")
            reply["error"] = ["code": .int(code), "message": .string(message)]
        }
        _ = send(OutboundMessage(kind: .response, method: nil, body: ByteBuffer(bytes: JSON.object(reply).bytes)))
    }
}
