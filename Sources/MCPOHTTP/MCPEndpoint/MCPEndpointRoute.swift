import JSONValue
import MCPClient
import MCPOIdentity
import NIOCore
import NIOHTTP1

/// The MCP endpoint over streamable HTTP: `POST` carries the client's messages (answered with JSON, or with an SSE
/// stream when the call sends progress or questions on the way), `GET` opens a session's stream of list changes,
/// `DELETE` ends a session. Revisions with `initialize` get a session (`Mcp-Session-Id`, bound to the caller that
/// made it); 2026-07-28 requests carry their version in `_meta` and need none (`server/discover`,
/// `subscriptions/listen`).
struct MCPEndpointRoute: Sendable {
    static let path = "/mcp"
    static let sessionHeader = "Mcp-Session-Id"

    let mount: MCPMount
    let sessions: MCPSessions
    let check: CredentialCheck
    let address: PublicAddress
    let questionTimeout: Duration

    func respond(to request: ProxyRequest) async -> ProxyResponse {
        let identity: CallerIdentity
        switch await check.caller(of: request, address: address) {
        case .success(let caller): identity = caller
        case .failure(let failure): return failure.response
        }
        let owner = CallerKey.of(request, identity: identity.name)
        if let version = request.header("mcp-protocol-version"), !MCPProtocolVersions.all.contains(version) {
            return Self.error(
                400,
                .invalidRequest(
                    "Unsupported MCP-Protocol-Version \(version); the endpoint speaks "
                        + MCPProtocolVersions.all.joined(separator: ", ")))
        }
        var session: MCPClientSession?
        if let id = request.header(Self.sessionHeader) {
            guard let found = sessions.session(id, path: mount.path, owner: owner) else {
                return Self.error(404, JSONRPCError(code: -32001, message: "Session not found: initialize again"))
            }
            session = found
        }
        switch request.method {
        case .POST:
            return await post(request, identity: identity, owner: owner, session: session)
        case .GET:
            return listen(request, session: session)
        case .DELETE:
            guard let session else {
                return Self.error(400, .invalidRequest("DELETE ends a session: send its Mcp-Session-Id"))
            }
            sessions.close(session)
            return ProxyResponse(status: .ok)
        default:
            return CallFailure.methodNotAllowed(allow: "GET, POST, DELETE").response
        }
    }

    // MARK: - POST

    private func post(
        _ request: ProxyRequest, identity: CallerIdentity, owner: String, session: MCPClientSession?
    ) async -> ProxyResponse {
        guard let type = request.header("content-type"), EventStream.contains(type, "application/json") else {
            return Self.error(415, .invalidRequest("The body is a JSON-RPC message: Content-Type: application/json"))
        }
        guard let body = try? JSON.parse(request.body.readableBytesView) else {
            return Self.error(400, .parseError("The body is no JSON"))
        }
        let batch = body.arrayValue
        var messages: [JSONRPCMessage] = []
        for element in batch ?? [body] {
            switch JSONRPCMessage.parse(element) {
            case .success(let message): messages.append(message)
            case .failure(let error): return Self.error(400, error)
            }
        }
        guard !messages.isEmpty else { return Self.error(400, .invalidRequest("An empty batch")) }
        if batch == nil, case .request(let id, "initialize", let params) = messages[0] {
            return initialize(id: id, params: params ?? [:], owner: owner)
        }
        var modern = false
        if session == nil {
            // Without a session only 2026-07-28 requests are served: each says its version.
            for message in messages {
                guard case .request(let id, let method, let params) = message else { continue }
                let version = params?["_meta"]?[MCPProtocolVersions.versionKey]?.stringValue
                guard version != nil || method == "server/discover" else {
                    return Self.error(
                        400,
                        .invalidRequest(
                            "No Mcp-Session-Id: send initialize first, or a 2026-07-28 request with "
                                + "_meta[\"\(MCPProtocolVersions.versionKey)\"]", id: id))
                }
                if let version, !MCPProtocolVersions.stateless.contains(version) {
                    return .json(status: 200, bytes: Self.unsupported(version).message(id: id).bytes)
                }
                modern = true
            }
        }
        // Notifications and the client's answers to the proxy's questions.
        var requests: [(id: JSON, method: String, params: JSON?)] = []
        for message in messages {
            switch message {
            case .request(let id, let method, let params): requests.append((id, method, params))
            case .notification(let method, let params): notified(method, params, session: session)
            case .response(let id, let result, _): session?.answer(id, with: result)
            }
        }
        guard !requests.isEmpty else { return ProxyResponse(status: .accepted) }
        let (mount, questionTimeout) = (mount, questionTimeout)
        let context: @Sendable ((@Sendable (JSON) -> Bool)?, CallCancellation) -> MCPRequestContext = {
            emit, cancellation in
            MCPRequestContext(
                mount: mount, request: request, identity: identity, session: session, emit: emit,
                cancellation: cancellation, questionTimeout: questionTimeout)
        }
        if batch == nil, Self.accepts(request, "text/event-stream"),
            wantsStream(requests[0].method, requests[0].params, session: session)
        {
            return stream(requests[0], modern: modern, session: session, request: request, context: context)
        }
        var answers: [JSON] = []
        for (id, method, params) in requests {
            let followed = FollowedCancellation(following: request.connection.clientLeft)
            defer { followed.release() }
            guard session?.track(id, followed.cancellation) ?? true else {
                return Self.error(404, JSONRPCError(code: -32001, message: "Session not found: initialize again"))
            }
            let result = await answer(method, params, modern: modern, context: context(nil, followed.cancellation))
            session?.untrack(id)
            answers.append(Self.message(id: id, method: method, result, modern: modern))
        }
        return .json(status: 200, bytes: (batch == nil ? answers[0] : .array(answers)).bytes)
    }

    func answer(_ method: String, _ params: JSON?, modern: Bool, context: MCPRequestContext) async
        -> Result<JSON, JSONRPCError>
    {
        switch method {
        case "initialize":
            return .failure(.invalidRequest("The session is initialized already"))
        case "server/discover":
            return .success(discovery)
        default:
            return await MCPMethods(context: context).handle(method, params: params)
        }
    }

    private func initialize(id: JSON, params: JSON, owner: String) -> ProxyResponse {
        guard let session = sessions.open(path: mount.path, owner: owner) else {
            return Self.error(
                503,
                JSONRPCError(
                    code: JSONRPCError.internalErrorCode,
                    message: "Too many MCP sessions are open (\(MCPSessions.maximum)); end one (DELETE) or retry later",
                    id: id))
        }
        return .json(
            status: 200, bytes: JSONRPCMessage.result(id: id, initialized(session, params: params)).bytes,
            headers: [Self.sessionHeader: session.id])
    }

    /// The result of `initialize`: the version (the client's when the endpoint speaks it), what the endpoint offers
    /// and who answers; the session keeps what the client can do.
    func initialized(_ session: MCPClientSession, params: JSON) -> JSON {
        session.initialized(clientCapabilities: params["capabilities"] ?? [:])
        var result: OrderedJSONObject = [
            "protocolVersion": .string(MCPProtocolVersions.negotiated(params["protocolVersion"]?.stringValue)),
            "capabilities": mount.capabilities, "serverInfo": mount.serverInfo,
        ]
        if let instructions = mount.instructions { result["instructions"] = .string(instructions) }
        return .object(result)
    }

    /// `server/discover` (2026-07-28): the versions, the capabilities and who answers.
    private var discovery: JSON {
        var result: OrderedJSONObject = [
            "supportedVersions": .array(MCPProtocolVersions.all.map(JSON.string)), "capabilities": mount.capabilities,
        ]
        if let instructions = mount.instructions { result["instructions"] = .string(instructions) }
        result["_meta"] = [MCPProtocolVersions.serverInfoKey: mount.serverInfo]
        return .object(result)
    }

    func notified(_ method: String, _ params: JSON?, session: MCPClientSession?) {
        guard method == "notifications/cancelled", let id = params?["requestId"] else { return }
        session?.cancel(id)
    }

    /// A call answered with a stream: its progress, and (a session whose client elicits, of a server that asks) the
    /// questions the server asks on the way.
    private func wantsStream(_ method: String, _ params: JSON?, session: MCPClientSession?) -> Bool {
        switch method {
        case "subscriptions/listen":
            return true
        case "tools/call":
            if params?["_meta"]?["progressToken"] != nil { return true }
            guard let session, session.elicits, let name = params?["name"]?.stringValue else { return false }
            return mount.tool(named: name)?.endpoint.server.entry.features.elicitation == true
        default:
            return false
        }
    }

    private func stream(
        _ call: (id: JSON, method: String, params: JSON?), modern: Bool, session: MCPClientSession?,
        request: ProxyRequest,
        context:
            @escaping @Sendable ((@Sendable (JSON) -> Bool)?, CallCancellation) ->
            MCPRequestContext
    ) -> ProxyResponse {
        let (events, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .unbounded)
        if call.method == "subscriptions/listen" {
            return subscribe(id: call.id, params: call.params, events: events, continuation: continuation)
        }
        let followed = FollowedCancellation(following: request.connection.clientLeft)
        let cancellation = followed.cancellation
        guard session?.track(call.id, cancellation) ?? true else {
            followed.release()
            return Self.error(404, JSONRPCError(code: -32001, message: "Session not found: initialize again"))
        }
        let emit: @Sendable (JSON) -> Bool = { message in
            if case .terminated = continuation.yield(EventStream.event("message", message)) { return false }
            return true
        }
        let worker = Task {
            let result = await answer(call.method, call.params, modern: modern, context: context(emit, cancellation))
            session?.untrack(call.id)
            followed.release()
            continuation.yield(
                EventStream.event("message", Self.message(id: call.id, method: call.method, result, modern: modern)))
            continuation.finish()
        }
        continuation.onTermination = { _ in
            // The answer can reach nobody once the stream is gone (the endpoint keeps no events to resume).
            if request.connection.clientLeft.isCancelled {
                cancellation.cancel()
                worker.cancel()
            }
        }
        return Self.eventStream(events)
    }

    /// `subscriptions/listen` (2026-07-28): the acknowledgment with the list changes the endpoint sends, then
    /// those changes as they happen, each stamped with the subscription id.
    private func subscribe(
        id: JSON, params: JSON?, events: AsyncStream<ByteBuffer>, continuation: AsyncStream<ByteBuffer>.Continuation
    ) -> ProxyResponse {
        let asked = params?["notifications"]?.objectValue ?? [:]
        var granted = OrderedJSONObject()
        var changes = Set<MCPListChange>()
        for change in MCPListChange.allCases where asked[change.filterKey]?.boolValue == true {
            granted[change.filterKey] = true
            changes.insert(change)
        }
        let meta: JSON = [MCPProtocolVersions.subscriptionKey: id]
        continuation.yield(
            EventStream.event(
                "message",
                JSONRPCMessage.notification(
                    "notifications/subscriptions/acknowledged",
                    ["notifications": .object(granted), "_meta": meta])))
        return listening(
            events,
            MCPListener(path: mount.path, session: nil, changes: changes, subscription: id, stream: continuation))
    }

    // MARK: - GET

    /// A session's stream of list changes (`notifications/tools/list_changed` and the prompts and resources ones).
    private func listen(_ request: ProxyRequest, session: MCPClientSession?) -> ProxyResponse {
        guard let session else {
            return Self.error(
                405,
                .invalidRequest(
                    "GET opens a session's stream: send its Mcp-Session-Id (2026-07-28 clients use "
                        + "subscriptions/listen)"), allow: "POST")
        }
        guard Self.accepts(request, "text/event-stream") else {
            return Self.error(406, .invalidRequest("GET answers with Accept: text/event-stream"))
        }
        let (events, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .unbounded)
        return listening(events, .session(session, at: mount.path, stream: continuation))
    }

    /// The answer whose stream is `listener`'s: told of list changes, kept alive, and forgotten (then `ended`) when
    /// the client goes.
    func listening(
        _ events: AsyncStream<ByteBuffer>, _ listener: MCPListener, ended: @escaping @Sendable () -> Void = {}
    ) -> ProxyResponse {
        let key = sessions.listen(listener)
        let keepAlive = EventStream.keepAlive(listener.stream)
        listener.stream.onTermination = { [sessions] _ in
            sessions.stopListening(key)
            keepAlive.cancel()
            ended()
        }
        return Self.eventStream(events)
    }

    // MARK: - Answers

    static func eventStream(_ events: AsyncStream<ByteBuffer>) -> ProxyResponse {
        ProxyResponse(
            status: .ok,
            headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"],
            body: .stream(events))
    }

    /// Results 2026-07-28 lets clients cache: they say for how long (`ttlMs`, here 0: lists change) and for whom.
    static let cacheableMethods: Set<String> = [
        "server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list",
        "resources/read",
    ]

    /// The JSON-RPC answer; a 2026-07-28 result says it is complete (`resultType`) unless it says otherwise, and
    /// a cacheable one carries its cache hints.
    static func message(id: JSON, method: String, _ result: Result<JSON, JSONRPCError>, modern: Bool) -> JSON {
        switch result {
        case .success(var value):
            if modern, case .object(var object) = value {
                if object["resultType"] == nil { object["resultType"] = "complete" }
                if cacheableMethods.contains(method) {
                    if object["ttlMs"] == nil { object["ttlMs"] = 0 }
                    if object["cacheScope"] == nil { object["cacheScope"] = "private" }
                }
                value = .object(object)
            }
            return JSONRPCMessage.result(id: id, value)
        case .failure(let error):
            return error.message(id: id)
        }
    }

    static func unsupported(_ version: String) -> JSONRPCError {
        JSONRPCError(
            code: JSONRPCError.unsupportedVersionCode,
            message: "Unsupported protocol version \(version)",
            data: ["supported": .array(MCPProtocolVersions.all.map(JSON.string)), "requested": .string(version)])
    }

    private static func accepts(_ request: ProxyRequest, _ type: StaticString) -> Bool {
        guard let accept = request.header("accept") else { return false }
        return EventStream.contains(accept, type) || EventStream.contains(accept, "*/*")
    }

    static func error(_ status: Int, _ error: JSONRPCError, allow: String? = nil) -> ProxyResponse {
        var headers: HTTPHeaders = [:]
        if let allow { headers.add(name: "Allow", value: allow) }
        return .json(status: status, bytes: error.message(id: nil).bytes, headers: headers)
    }
}

/// A call's cancellation that also fires when its HTTP client leaves, until `release()`: a kept-alive connection
/// outlives many calls, each of which would otherwise leave its handler behind on the connection.
struct FollowedCancellation: Sendable {
    let cancellation = CallCancellation()
    private let connection: CallCancellation
    private let handler: Int?

    init(following connection: CallCancellation) {
        self.connection = connection
        let cancellation = self.cancellation
        handler = connection.register { cancellation.cancel() }
        if handler == nil { cancellation.cancel() }
    }

    func release() {
        if let handler { connection.unregister(handler) }
    }
}
