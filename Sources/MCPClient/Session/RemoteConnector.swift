import AsyncHTTPClient
import Foundation
import Logging
import MCPOConfig
import NIOCore

/// How a remote server was reached, remembered so a reconnect starts with what worked.
public enum RemoteEra: Sendable, Equatable {
    /// Streamable HTTP, 2026-07-28: no handshake, no session.
    case statelessHTTP
    /// Streamable HTTP with `initialize` (2025-03-26 … 2025-11-25), with or without a session id.
    case statefulHTTP
    /// HTTP+SSE of 2024-11-05.
    case legacySSE
}

/// Opens a session with a remote server, finding its era the way the specification describes
/// (`2026-07-28/basic/transports/streamable-http.mdx`, "Backward Compatibility"):
///
/// 1. POST `server/discover` with 2026-07-28 `_meta` and headers; a result listing 2026-07-28 means
///    stateless streamable HTTP;
/// 2. otherwise (400/404/405, or a JSON-RPC error that is not "only newer versions") POST `initialize`:
///    stateful streamable HTTP;
/// 3. if that POST is refused at the HTTP level (400/404/405 without a JSON-RPC error), GET the URL and
///    expect the `endpoint` event of the legacy HTTP+SSE transport.
///
/// `--server-type sse` goes straight to step 3. Transport failures (refused, unreachable) are never an era
/// verdict: they are thrown, and the supervisor retries later.
struct RemoteConnector: Sendable {
    enum Kind: Sendable {
        case sse
        case streamableHTTP
    }

    typealias NotificationHandler = RPCConnection.NotificationHandler

    let kind: Kind
    let endpoint: RemoteEndpoint
    let serverName: String
    let client: ClientIdentity
    let timeout: Double
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    /// OAuth for streamable HTTP (legacy SSE servers get none).
    var authorizer: (any UpstreamAuthorizer)? = nil

    struct Connected: Sendable {
        var session: MCPSession
        var era: RemoteEra
    }

    func connect(
        preferring hint: RemoteEra?, onNotification: @escaping NotificationHandler,
        onClose: @escaping @Sendable (String) -> Void
    ) async throws(MCPClientError) -> Connected {
        guard let url = URL(string: endpoint.url), let scheme = url.scheme?.lowercased(),
            ["http", "https"].contains(scheme), url.host != nil
        else {
            throw .unavailable(reason: "'\(endpoint.url)' is not an http:// or https:// URL")
        }
        let events = Events(onNotification: onNotification, onClose: onClose)
        switch kind {
        case .sse:
            return try await connect(era: .legacySSE, url: url, events: events)
        case .streamableHTTP:
            if let hint, hint != .statelessHTTP {
                // A server that spoke an older era a moment ago most likely still does; if it changed, the
                // full detection below runs.
                do {
                    return try await connect(era: hint, url: url, events: events)
                } catch .unavailable(let reason) {
                    throw .unavailable(reason: reason)
                } catch .authorizationRequired(let link) {
                    throw .authorizationRequired(link)
                } catch {
                    logger.info("[\(serverName)] \(hint) no longer works (\(error)); detecting the protocol again")
                }
            }
            return try await detect(url, events: events)
        }
    }

    private struct Events: Sendable {
        let onNotification: NotificationHandler
        let onClose: @Sendable (String) -> Void
    }

    private func connect(era: RemoteEra, url: URL, events: Events) async throws(MCPClientError) -> Connected {
        do {
            return try await attempt(era: era, url: url, events: events)
        } catch {
            throw error.clientError
        }
    }

    private func attempt(era: RemoteEra, url: URL, events: Events) async throws(RequestFailure) -> Connected {
        switch era {
        case .statelessHTTP: return try await detectEra(url, events: events)
        case .statefulHTTP: return Connected(session: try await stateful(url, events: events), era: .statefulHTTP)
        case .legacySSE: return Connected(session: try await legacySSE(url, events: events, evidence: []), era: era)
        }
    }

    private func detect(_ url: URL, events: Events) async throws(MCPClientError) -> Connected {
        do {
            return try await detectEra(url, events: events)
        } catch {
            throw error.clientError
        }
    }

    private func detectEra(_ url: URL, events: Events) async throws(RequestFailure) -> Connected {
        var evidence: [String] = []
        let version = MCPSession.statelessProtocolVersions[0]
        let (probe, _) = try await open(events: events) { receiver in
            streamable(url, mode: .stateless(protocolVersion: version), receiver: receiver)
        }
        let discovery: MCPSession.Discovery
        do {
            discovery = try await MCPSession.discover(
                over: probe, client: client, timeout: timeout, version: version)
        } catch {
            await probe.close(reason: "the era probe failed")
            throw .client(error)
        }
        switch discovery {
        case .stateless(let session):
            return Connected(session: session, era: .statelessHTTP)
        case .handshakeEra(let why):
            await probe.close(reason: "the server is not stateless")
            logger.debug("[\(serverName)] not a 2026-07-28 server (\(why)); trying initialize")
            evidence.append(why)
        }
        do {
            return Connected(session: try await stateful(url, events: events), era: .statefulHTTP)
        } catch .refused(let refusal) where [400, 404, 405].contains(refusal.status) {
            logger.debug("[\(serverName)] initialize was refused (\(refusal.detail)); trying the legacy SSE transport")
            evidence.append(refusal.detail)
            return Connected(session: try await legacySSE(url, events: events, evidence: evidence), era: .legacySSE)
        }
    }

    private func stateful(_ url: URL, events: Events) async throws(RequestFailure) -> MCPSession {
        let (connection, transport) = try await open(events: events) { receiver in
            streamable(url, mode: .stateful, receiver: receiver)
        }
        do {
            return try await MCPSession.handshake(
                over: connection, client: client, timeout: timeout, sessionControl: transport)
        } catch {
            await connection.close(reason: "the handshake failed")
            throw error
        }
    }

    private func legacySSE(
        _ url: URL, events: Events, evidence: [String]
    ) async throws(RequestFailure) -> MCPSession {
        let connection: RPCConnection
        do {
            (connection, _) = try await open(events: events) { receiver throws(MCPClientError) in
                try await LegacySSETransport.connect(
                    url: url, headers: endpoint.headers, serverName: serverName, receiver: receiver, timeout: timeout,
                    logger: logger, client: UpstreamHTTPClient.shared,
                    keepAlive: UpstreamHTTPClient.sharedKeepAlive, eventLoop: eventLoopGroup.next())
            }
        } catch .client(.protocolViolation(let detail)) where !evidence.isEmpty {
            throw .client(
                .protocolViolation(
                    "\(url.absoluteString) is not an MCP server: " + (evidence + [detail]).joined(separator: "; ")))
        }
        do {
            return try await MCPSession.handshake(over: connection, client: client, timeout: timeout)
        } catch {
            await connection.close(reason: "the handshake failed")
            throw error
        }
    }

    private func streamable(
        _ url: URL, mode: StreamableHTTPTransport.Mode, receiver: any TransportReceiver
    ) -> StreamableHTTPTransport {
        StreamableHTTPTransport(
            endpoint: url, headers: endpoint.headers, mode: mode, serverName: serverName, receiver: receiver,
            logger: logger, client: UpstreamHTTPClient.shared, keepAlive: UpstreamHTTPClient.sharedKeepAlive,
            eventLoop: eventLoopGroup.next(), authorizer: authorizer)
    }

    private func open<Transport: MCPTransport>(
        events: Events,
        transport: (any TransportReceiver) async throws(MCPClientError) -> Transport
    ) async throws(RequestFailure) -> (connection: RPCConnection, transport: Transport) {
        do {
            return try await RPCConnection.open(
                serverName: serverName, logger: logger, eventLoopGroup: eventLoopGroup, answers: client.answers,
                onNotification: events.onNotification, onClose: events.onClose, connect: transport)
        } catch {
            throw .client(error)
        }
    }
}
