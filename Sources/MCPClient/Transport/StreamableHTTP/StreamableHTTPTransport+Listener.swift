import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The optional GET stream of server-initiated messages (stateful mode), and GET streams in general.
extension StreamableHTTPTransport {
    /// GET on the endpoint for an SSE stream. Nil response when the server offers none (405 and the like).
    func openGETStream(lastEventID: String?, purpose: String) async throws -> (UpstreamAnswer?, URL) {
        let (endpoint, session, version) = state.withLock {
            ($0.session.endpoint, $0.session.sessionID, $0.session.protocolVersion)
        }
        // A stream is optional: without a usable token there is none (the next call asks for authorization).
        var authorization: String?
        if let authorizer {
            do {
                authorization = try await authorizer.authorization()
            } catch {
                return (nil, endpoint)
            }
        }
        var renewedAuthorization = false
        var response: UpstreamAnswer
        var status: Int
        while true {
            var headers = baseHeaders(accept: "text/event-stream", authorization: authorization)
            if let session { headers.replaceOrAdd(name: "Mcp-Session-Id", value: session) }
            if let version { headers.replaceOrAdd(name: "MCP-Protocol-Version", value: version) }
            if let lastEventID { headers.replaceOrAdd(name: "Last-Event-ID", value: lastEventID) }
            do {
                response = try await send(.GET, to: endpoint, headers: headers, deadline: .distantFuture)
            } catch {
                throw failure(error, doing: "GET \(endpoint.absoluteString) (\(purpose))")
            }
            status = Int(response.status.code)
            guard let authorizer, status == 401, !renewedAuthorization else { break }
            let challenges = response.headers["WWW-Authenticate"]
            _ = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
            do {
                authorization = try await authorizer.unauthorized(failed: authorization, wwwAuthenticate: challenges)
            } catch {
                return (nil, endpoint)
            }
            renewedAuthorization = true
        }
        if status == 200, HTTPExchange.mediaType(response.headers) == "text/event-stream" {
            return (response, endpoint)
        }
        let body = try? await response.body.collect(upTo: HTTPExchange.maxErrorBodyBytes)
        if status == 404, let session {
            expire(session)
            throw HTTPRefusal(
                status: 404, detail: "GET \(endpoint.absoluteString) answered 404 for session \(session)",
                sessionExpired: true)
        }
        logger.debug(
            "[\(serverName)] GET \(endpoint.absoluteString) (\(purpose)) answered \(HTTPExchange.statusText(response.status, body: body))"
        )
        return (nil, endpoint)
    }

    // MARK: - The GET stream for server-initiated messages

    func startListening() {
        let task = Task { await self.listen() }
        let previous = state.withLock { state -> Task<Void, Never>? in
            guard !state.session.isClosed else { return task }
            defer { state.listener = task }
            return state.listener
        }
        previous?.cancel()
    }

    /// Keeps the optional GET stream open (reconnecting after the server's `retry` delay with
    /// `Last-Event-ID`) until the server declines it, the session ends, or the server is unreachable,
    /// which closes the transport: that is how a dead stateful server is noticed between calls.
    private func listen() async {
        var lastEventID: String?
        var retry: Int?
        var quickEnds = 0
        while !Task.isCancelled {
            let opened = ContinuousClock.now
            let response: UpstreamAnswer?
            do {
                (response, _) = try await openGETStream(lastEventID: lastEventID, purpose: "server messages")
                listening.settle(.success(()))
            } catch {
                listening.settle(.success(()))
                if case .unavailable(let reason) = error as? MCPClientError { close(reason: reason) }
                return
            }
            guard let response else { return }
            var parser = SSEParser(maxEventBytes: HTTPExchange.maxMessageBytes)
            _ = await consume(response.body, with: &parser)
            lastEventID = parser.lastEventID.flatMap { $0.isEmpty ? nil : $0 } ?? lastEventID
            retry = parser.retryMilliseconds ?? retry
            // A server that closes the stream at once every time is polled, not hammered.
            quickEnds = ContinuousClock.now - opened < .seconds(1) ? quickEnds + 1 : 0
            let delay = retry ?? (quickEnds > 0 ? min(1000 * quickEnds, 30_000) : 250)
            do {
                try await Task.sleep(for: .milliseconds(delay))
            } catch {
                return
            }
        }
    }

}
