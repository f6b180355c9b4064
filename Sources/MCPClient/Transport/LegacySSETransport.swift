import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The HTTP+SSE transport of MCP 2024-11-05 (deprecated, still common): a GET opens an SSE stream whose
/// first `endpoint` event names where to POST messages; every answer comes back on that stream.
///
/// The stream is the connection: when it ends, the transport is closed and a new one is a new session. Messages to a
/// plain `http` endpoint are posted over `KeepAliveHTTPClient`, which takes a pooled connection only within its reuse
/// window (a server closes idle ones on its own clock, and a message met by that close cannot always be sent again);
/// the rest (TLS, redirects) over AsyncHTTPClient.
final class LegacySSETransport: MCPTransport {
    private struct State {
        var receiver: (any TransportReceiver)?
        var closedReason: String?
        var reader: Task<Void, Never>?
        var postURL: URL?
        /// The endpoint as the keep-alive pool addresses it, made once with the URL: nil without a pool or unless
        /// the URL is plain `http`.
        var postTarget: KeepAliveTarget?
    }

    let streamURL: URL
    private let staticHeaders: [(name: String, value: String)]
    private let serverName: String
    private let logger: Logger
    private let client: HTTPClient
    private let keepAlive: KeepAliveHTTPClient?
    /// A `Host` header the configuration sets, which the keep-alive requests carry instead of the URL's authority.
    private let configuredHost: String?
    /// The static headers of a keep-alive POST, made once: without `Host` and `Content-Length`, which the pool writes.
    private let keepAliveHeaders: HTTPHeaders
    private let eventLoop: any EventLoop
    private let state: Mutex<State>

    private init(
        streamURL: URL, headers: [(name: String, value: String)], serverName: String,
        receiver: any TransportReceiver, logger: Logger, client: HTTPClient, keepAlive: KeepAliveHTTPClient?,
        eventLoop: any EventLoop
    ) {
        self.streamURL = streamURL
        self.staticHeaders = headers
        self.serverName = serverName
        self.logger = logger
        self.client = client
        self.keepAlive = keepAlive
        self.configuredHost = HTTPExchange.configuredHost(headers)
        var keepAliveHeaders = HTTPExchange.configuredHeaders(headers, except: ["host", "content-length"])
        keepAliveHeaders.replaceOrAdd(name: "Content-Type", value: "application/json")
        self.keepAliveHeaders = keepAliveHeaders
        self.eventLoop = eventLoop
        self.state = Mutex(State(receiver: receiver))
    }

    var postURL: URL? { state.withLock { $0.postURL } }

    /// Opens the stream and waits (at most `timeout` seconds) for the `endpoint` event.
    static func connect(
        url: URL, headers: [(name: String, value: String)], serverName: String, receiver: any TransportReceiver,
        timeout: Double, logger: Logger, client: HTTPClient, keepAlive: KeepAliveHTTPClient? = nil,
        eventLoop: any EventLoop
    ) async throws(MCPClientError) -> LegacySSETransport {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        let bound = TimeAmount.milliseconds(Int64(timeout * 1000))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + bound)
        } catch {
            if HTTPExchange.isConnectFailure(error) {
                throw .unavailable(reason: "cannot reach \(url.absoluteString): \(HTTPExchange.describe(error))")
            }
            throw .unavailable(reason: "GET \(url.absoluteString) failed: \(HTTPExchange.describe(error))")
        }
        let mediaType = HTTPExchange.mediaType(response.headers)
        guard response.status == .ok, mediaType == "text/event-stream" else {
            let body = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            throw .protocolViolation(
                "\(url.absoluteString) is not an MCP SSE endpoint: GET answered \(HTTPExchange.statusText(response.status, body: body))"
                    + (response.status == .ok ? " (\(mediaType ?? "no content type"), not text/event-stream)" : ""))
        }
        let transport = LegacySSETransport(
            streamURL: response.url ?? url, headers: headers, serverName: serverName, receiver: receiver,
            logger: logger, client: client, keepAlive: keepAlive, eventLoop: eventLoop)
        let endpoint = Settlement<URL>(eventLoop: eventLoop)
        let reader = Task { await transport.read(response.body, endpoint: endpoint) }
        transport.state.withLock { $0.reader = reader }
        let timer = eventLoop.scheduleTask(in: bound) {
            endpoint.settle(
                .failure(
                    .protocolViolation(
                        "\(url.absoluteString) sent no endpoint event within \(formatSeconds(timeout)) s; is it an MCP SSE endpoint?"
                    )))
        }
        do {
            _ = try await endpoint.value
            timer.cancel()
            return transport
        } catch {
            timer.cancel()
            await transport.shutdown()
            throw error
        }
    }

    func send(_ message: OutboundMessage) -> EventLoopFuture<Void> {
        let (reason, target, plain) = state.withLock { ($0.closedReason, $0.postURL, $0.postTarget) }
        if let reason { return eventLoop.makeFailedFuture(MCPClientError.disconnected(reason: reason)) }
        guard let target else {
            return eventLoop.makeFailedFuture(MCPClientError.disconnected(reason: "no endpoint yet"))
        }
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { [self] in
            do {
                try await post(message, to: target, plain: plain)
            } catch {
                if case .unavailable(let reason) = error as? MCPClientError {
                    eventLoop.execute { self.close(reason: reason) }
                }
                throw error
            }
        }
        return promise.futureResult
    }

    func shutdown() async {
        let reader = state.withLock { state in
            if state.closedReason == nil { state.closedReason = "the transport was shut down" }
            state.receiver = nil
            defer { state.reader = nil }
            return state.reader
        }
        reader?.cancel()
    }

    // MARK: - Posting

    private func post(_ message: OutboundMessage, to target: URL, plain: KeepAliveTarget?) async throws {
        let response: UpstreamAnswer
        do {
            do {
                response = try await send(message, to: target, plain: plain)
            } catch  where HTTPExchange.isClosedBeforeAnswer(error) && message.method != "tools/call" {
                // A connection closed under the message is tried once more on another, except a tool call: whether
                // it may be repeated is the session's decision (it knows the tool's annotations).
                response = try await send(message, to: target, plain: plain)
            }
        } catch {
            throw Self.failure(error, posting: target)
        }
        let body = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
        guard (200..<300).contains(Int(response.status.code)) else {
            if response.status == .notFound {
                // The server forgot this SSE session (it restarted, or dropped the stream).
                let reason = "POST \(target.absoluteString) answered 404: the server no longer knows this SSE session"
                eventLoop.execute { self.close(reason: reason) }
                throw MCPClientError.disconnected(reason: reason)
            }
            if let rpcError = HTTPExchange.jsonRPCError(in: body) { throw rpcError }
            throw HTTPRefusal(
                status: Int(response.status.code),
                detail: "POST \(target.absoluteString) answered \(HTTPExchange.statusText(response.status, body: body))"
            )
        }
    }

    /// One POST of `message`: over a pooled keep-alive connection to a plain `http` endpoint, else (or to follow a
    /// redirect, which AsyncHTTPClient does by sending the message again) through AsyncHTTPClient.
    private func send(_ message: OutboundMessage, to target: URL, plain: KeepAliveTarget?) async throws
        -> UpstreamAnswer
    {
        let deadline = NIODeadline.now() + .seconds(60)
        if let keepAlive, let plain {
            var headers = keepAliveHeaders
            for (name, value) in message.headers { headers.replaceOrAdd(name: name, value: value) }
            let answer = UpstreamAnswer(
                try await keepAlive.execute(
                    .POST, plain, headers: headers, body: message.body, deadline: deadline, preferring: eventLoop))
            guard answer.isRedirect else { return answer }
        }
        var request = HTTPClientRequest(url: target.absoluteString)
        request.method = .POST
        for (name, value) in staticHeaders { request.headers.add(name: name, value: value) }
        for (name, value) in message.headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.body = .bytes(message.body)
        return UpstreamAnswer(try await client.execute(request, deadline: deadline))
    }

    /// What a POST that got no answer becomes.
    private static func failure(_ error: any Error, posting target: URL) -> MCPClientError {
        if HTTPExchange.isCancellation(error) { return .cancelled }
        if HTTPExchange.isConnectFailure(error) {
            return .unavailable(reason: "cannot reach \(target.absoluteString): \(HTTPExchange.describe(error))")
        }
        return .disconnected(reason: "POST \(target.absoluteString) failed: \(HTTPExchange.describe(error))")
    }

    // MARK: - Reading the stream

    /// Reads the whole stream: first the endpoint event (settling `endpoint`), then messages.
    private func read(_ body: HTTPClientResponse.Body, endpoint: Settlement<URL>) async {
        var parser = SSEParser(maxEventBytes: HTTPExchange.maxMessageBytes)
        var ending = "the server closed the SSE stream \(streamURL.absoluteString)"
        do {
            for try await chunk in body {
                for event in try parser.feed(chunk) {
                    if postURL == nil {
                        guard event.type == "endpoint" else { continue }
                        switch resolveEndpoint(event.text) {
                        case .success(let url):
                            let plain = keepAlive == nil ? nil : KeepAliveTarget(url, hostHeader: configuredHost)
                            state.withLock { state in
                                state.postURL = url
                                state.postTarget = plain
                            }
                            endpoint.settle(.success(url))
                        case .failure(let error):
                            endpoint.settle(.failure(error))
                            return
                        }
                    } else {
                        deliver(event)
                    }
                }
            }
        } catch {
            ending = "the SSE stream \(streamURL.absoluteString) broke: \(HTTPExchange.describe(error))"
        }
        endpoint.settle(.failure(.disconnected(reason: "\(ending) before its endpoint event")))
        close(reason: ending)
    }

    private func resolveEndpoint(_ text: String) -> Result<URL, MCPClientError> {
        let target = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let resolved = URL(string: target, relativeTo: streamURL)?.absoluteURL else {
            return .failure(.protocolViolation("the endpoint event '\(target)' is not a URL"))
        }
        // Static headers (credentials) go with every POST: only to the stream's own origin.
        guard HTTPExchange.sameOrigin(resolved, streamURL) else {
            return .failure(
                .protocolViolation(
                    "the endpoint \(resolved.absoluteString) is not on the origin of \(streamURL.absoluteString)"))
        }
        return .success(resolved)
    }

    private func deliver(_ event: SSEParser.Event) {
        switch event.type {
        case "message" where !event.data.isEmpty:
            let receiver = state.withLock { $0.receiver }
            receiver?.receive(message: ByteBuffer(bytes: event.data))
        case "endpoint":
            logger.debug("[\(serverName)] ignored a second endpoint event: \(event.text)")
        default:
            break
        }
    }

    private func close(reason: String) {
        let receiver = state.withLock { state -> (any TransportReceiver)? in
            guard state.closedReason == nil else { return nil }
            state.closedReason = reason
            defer { state.receiver = nil }
            return state.receiver
        }
        receiver?.transportClosed(reason: reason)
    }
}
