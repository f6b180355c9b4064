import JSONValue
import MCPClient
import MCPOIdentity
import NIOCore

/// Which of the endpoint's transports a path serves.
enum MCPTransport: Sendable {
    /// `…/mcp`: streamable HTTP.
    case streamableHTTP
    /// `…/mcp/sse`: the 2024-11-05 HTTP+SSE transport's stream.
    case legacyStream
    /// `…/mcp/messages?session_id=…`: where that transport's messages are posted.
    case legacyMessages

    static let legacyStreamSuffix = "/sse"
    static let legacyMessagesSuffix = "/messages"
}

/// The HTTP+SSE transport of MCP 2024-11-05, for clients that speak only it: `GET …/mcp/sse` opens the stream,
/// whose first event (`endpoint`) says where to post; each posted message is accepted (202) and answered on the
/// stream. The session lives as long as its stream.
extension MCPEndpointRoute {
    func respondLegacy(to request: ProxyRequest, transport: MCPTransport) async -> ProxyResponse {
        let identity: CallerIdentity
        switch await check.caller(of: request, address: address) {
        case .success(let caller): identity = caller
        case .failure(let failure): return failure.response
        }
        let owner = CallerKey.of(request, identity: identity.name)
        switch (transport, request.method) {
        case (.legacyStream, .GET):
            return openLegacyStream(owner: owner)
        case (.legacyMessages, .POST):
            return await postLegacy(request, identity: identity, owner: owner)
        case (.legacyStream, _):
            return CallFailure.methodNotAllowed(allow: "GET").response
        default:
            return CallFailure.methodNotAllowed(allow: "POST").response
        }
    }

    private func openLegacyStream(owner: String) -> ProxyResponse {
        let (events, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .unbounded)
        guard let session = sessions.open(path: mount.path, owner: owner, channel: continuation) else {
            return Self.error(
                503,
                JSONRPCError(
                    code: JSONRPCError.internalErrorCode,
                    message: "Too many MCP sessions are open (\(MCPSessions.maximum)); retry later"))
        }
        let messages =
            address.rootPath + mount.path + MCPTransport.legacyMessagesSuffix + "?session_id=" + session.id
        continuation.yield(ByteBuffer(string: "event: endpoint\ndata: \(messages)\n\n"))
        // The session lives as long as its stream.
        return listening(events, .session(session, at: mount.path, stream: continuation)) { [sessions] in
            sessions.close(session)
        }
    }

    private func postLegacy(_ request: ProxyRequest, identity: CallerIdentity, owner: String) async -> ProxyResponse {
        let id = QueryParameters.parse(request.query).first { $0.0 == "session_id" }?.1
        guard let id, let session = sessions.session(id, path: mount.path, owner: owner),
            let channel = session.channel
        else {
            return Self.error(404, JSONRPCError(code: -32001, message: "Session not found: open the stream again"))
        }
        guard let body = try? JSON.parse(request.body.readableBytesView) else {
            return Self.error(400, .parseError("The body is no JSON"))
        }
        let message: JSONRPCMessage
        switch JSONRPCMessage.parse(body) {
        case .success(let parsed): message = parsed
        case .failure(let error): return Self.error(400, error)
        }
        let emit: @Sendable (JSON) -> Bool = { message in
            if case .terminated = channel.yield(EventStream.event("message", message)) { return false }
            return true
        }
        switch message {
        case .notification(let method, let params):
            notified(method, params, session: session)
        case .response(let id, let result, _):
            session.answer(id, with: result)
        case .request(let id, "initialize", let params):
            _ = emit(JSONRPCMessage.result(id: id, initialized(session, params: params ?? [:])))
        case .request(let id, let method, let params):
            // Answered on the stream; the stream, not this POST, is what the call's cancellation follows.
            let cancellation = CallCancellation()
            guard session.track(id, cancellation) else {
                return Self.error(404, JSONRPCError(code: -32001, message: "Session not found: open the stream again"))
            }
            let context = MCPRequestContext(
                mount: mount, request: request, identity: identity, session: session, emit: emit,
                cancellation: cancellation, questionTimeout: questionTimeout)
            Task {
                let result = await answer(method, params, modern: false, context: context)
                session.untrack(id)
                _ = emit(Self.message(id: id, method: method, result, modern: false))
            }
        }
        return ProxyResponse(status: .accepted)
    }
}
