import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The general way of a message: one POST in a task of its own, which may authorize, follow a redirect, and read a
/// JSON answer or an event stream.
extension StreamableHTTPTransport {
    /// The general way: a task that may connect, authorize, follow a redirect, read a stream or resume one.
    func startExchange(
        _ message: OutboundMessage, promise: EventLoopPromise<Void>, first: EarlyAnswer? = nil
    ) {
        let closedReason = state.withLock { state -> String? in
            if let reason = state.session.closedReason { return reason }
            // Created under the lock, so the task's own removal of its entry cannot come first.
            let task = Task { await self.exchange(message, promise: promise, first: first) }
            if let id = message.requestID { state.exchanges[id] = .task(task) }
            return nil
        }
        if let closedReason { promise.fail(MCPClientError.disconnected(reason: closedReason)) }
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
        let now = state.withLock { $0.session }
        let (endpoint, target) = (now.endpoint, now.keepAliveTarget)
        let (session, version) = first.map { ($0.session, $0.version) } ?? (now.sessionID, now.protocolVersion)
        // Not yet sent, on a session the server has already forgotten: no round trip. (One already answered stays
        // answered, whatever happened to its session since.)
        if first == nil, let session, now.isForgotten(session) {
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
            state.withLock { $0.session.assign(session: assigned) }
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

    func headers(
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
        }
        // The message's own (`Mcp-Param-*` in the stateless era, the caller's identity where the entry forwards it)
        // win over the configured ones; a forwarded token over an OAuth one cannot happen (the config refuses both).
        for (name, value) in message.headers { headers.replaceOrAdd(name: name, value: value) }
        return headers
    }

    /// One request: a POST to a plain `http` endpoint over the keep-alive pool (a redirect it answers is sent
    /// again through AsyncHTTPClient, which follows it), anything else over AsyncHTTPClient.
    func send(
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
    func followingRedirect(
        _ answer: UpstreamAnswer, _ method: HTTPMethod, to endpoint: URL, headers: HTTPHeaders, body: ByteBuffer?,
        deadline: NIODeadline
    ) async throws -> UpstreamAnswer {
        guard answer.isRedirect else { return answer }
        _ = try? await answer.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
        return try await sendThroughClient(method, to: endpoint, headers: headers, body: body, deadline: deadline)
    }

    func sendThroughClient(
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

    func baseHeaders(accept: String?, authorization: String?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for (name, value) in staticHeaders { headers.add(name: name, value: value) }
        if let accept { headers.replaceOrAdd(name: "Accept", value: accept) }
        // The OAuth token wins over a static `Authorization` header.
        if let authorization { headers.replaceOrAdd(name: "Authorization", value: authorization) }
        return headers
    }

    /// After a redirect the final address is used directly (within the same origin: `HTTPSessionState`).
    private func adoptFinalURL(of response: UpstreamAnswer) {
        guard let final = response.url else { return }
        state.withLock { $0.session.adopt(finalURL: final) }
    }

    func failure(_ error: any Error, doing what: String) -> MCPClientError {
        if HTTPExchange.isCancellation(error) || Task.isCancelled { return .cancelled }
        if HTTPExchange.isConnectFailure(error) {
            return .unavailable(
                reason: "cannot reach \(originalEndpoint.absoluteString): \(HTTPExchange.describe(error))")
        }
        return .disconnected(reason: "\(what) failed: \(HTTPExchange.describe(error))")
    }

}
