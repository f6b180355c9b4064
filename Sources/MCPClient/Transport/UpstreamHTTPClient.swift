import AsyncHTTPClient
import Foundation
import JSONValue
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The one `HTTPClient` every remote upstream server shares, so connections are pooled and reused.
///
/// Configured for MCP: many connections per host (calls in flight are not serialised behind a small
/// pool), no read timeout (SSE streams stay idle for minutes), a bounded connect, redirects followed with
/// the method and body kept, TLS against the system trust store (or `SSL_CERT_FILE` / `SSL_CERT_DIR`,
/// which Python's mcpo honours too, through httpx), and no connect retries inside the pool:
/// a refused connection must fail the request at once (the supervisor does the retrying, with backoff),
/// not hold it until its deadline.
public enum UpstreamHTTPClient {
    private static let current = Mutex<HTTPClient?>(nil)
    private static let currentKeepAlive = Mutex<KeepAliveHTTPClient?>(nil)

    /// Upper bound of one connection attempt (TCP and TLS).
    static let connectTimeout = TimeAmount.seconds(10)
    /// How long a pooled connection stays open unused: below the 5 s keep-alive of uvicorn and Node, so the proxy
    /// closes it first and never sends a request on a connection the server is closing at that moment (AsyncHTTPClient
    /// keeps one for a minute by default). The keep-alive pool's handler uses the same bound.
    static let idleTimeout = TimeAmount.seconds(4)

    static var shared: HTTPClient {
        current.withLock { client in
            if let client { return client }
            let created = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            client = created
            return created
        }
    }

    /// The pool for the POSTs of streamable HTTP to plain `http` endpoints (the hot path of remote calls).
    static var sharedKeepAlive: KeepAliveHTTPClient {
        currentKeepAlive.withLock { client in
            if let client { return client }
            let created = KeepAliveHTTPClient(
                group: MultiThreadedEventLoopGroup.singleton, connectTimeout: connectTimeout,
                maxBodyBytes: HTTPExchange.maxMessageBytes)
            client = created
            return created
        }
    }

    static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.idleTimeout = idleTimeout
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: connectTimeout, read: nil)
        // Spans per request cost about a twelfth of a proxied call, and nothing here collects them.
        configuration.tracing.tracer = nil
        configuration.redirectConfiguration = .follow(
            configuration: .init(
                max: 5, allowCycles: false, retainHTTPMethodAndBodyOn301: true, retainHTTPMethodAndBodyOn302: true))
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = trustRoots(ProcessInfo.processInfo.environment)
        configuration.tlsConfiguration = tls
        return configuration
    }

    /// As httpx (Python mcpo's client) does: `SSL_CERT_FILE` replaces the CA bundle, else `SSL_CERT_DIR`,
    /// else the system trust store. Paths that do not exist are ignored rather than failing every TLS
    /// connection.
    static func trustRoots(_ environment: [String: String]) -> NIOSSLTrustRoots {
        for variable in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
            if let path = environment[variable], !path.isEmpty, FileManager.default.fileExists(atPath: path) {
                return .file(path)
            }
        }
        return .default
    }

    /// A client for OAuth traffic (metadata, registration, tokens): the same TLS trust as the shared client, but
    /// it never follows redirects, and reads are bounded. The caller shuts it down.
    public static func makeOAuthClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: connectTimeout, read: .seconds(30))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.idleTimeout = idleTimeout
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = trustRoots(ProcessInfo.processInfo.environment)
        configuration.tlsConfiguration = tls
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the shared clients' connections; a later remote request creates fresh clients.
    public static func shutdown() async {
        let client = current.withLock { client in
            defer { client = nil }
            return client
        }
        let keepAlive = currentKeepAlive.withLock { client in
            defer { client = nil }
            return client
        }
        await keepAlive?.shutdown()
        try? await client?.shutdown()
    }
}

/// Reading HTTP answers and failures the way the transports report them.
enum HTTPExchange {
    /// Largest JSON body or SSE event accepted from a server.
    static let maxMessageBytes = 64 * 1024 * 1024
    /// How much of an error body is read to explain a failure.
    static let maxErrorBodyBytes = 64 * 1024

    /// The media type of the `Content-Type`, lowercased, without parameters. (Standard library only: Foundation's
    /// trimming cost more than the rest of reading an answer.)
    static func mediaType(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "content-type") else { return nil }
        // The answers of almost every server, as they are: no new string.
        if value == "application/json" || value == "text/event-stream" { return value }
        var type = Array(value.utf8.prefix { $0 != UInt8(ascii: ";") })
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while let last = type.last, isBlank(last) { type.removeLast() }
        let start = type.firstIndex { !isBlank($0) } ?? type.endIndex
        for index in start..<type.endIndex where (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(type[index]) {
            type[index] += 32
        }
        return String(decoding: type[start...], as: UTF8.self)
    }

    /// The `Host` header a configuration sets (its last), which requests carry instead of the URL's authority.
    static func configuredHost(_ headers: [(name: String, value: String)]) -> String? {
        headers.last { $0.name.lowercased() == "host" }?.value
    }

    /// The configured headers a request carries as they are: all but those it sets itself (`setPerRequest`,
    /// lowercase).
    static func configuredHeaders(_ headers: [(name: String, value: String)], except setPerRequest: Set<String>)
        -> HTTPHeaders
    {
        var kept = HTTPHeaders()
        for (name, value) in headers where !setPerRequest.contains(name.lowercased()) {
            kept.add(name: name, value: value)
        }
        return kept
    }

    /// Whether the request never reached the server: the proxy may call it unavailable (503), and a
    /// supervisor may treat the server as down.
    static func isConnectFailure(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if case .connectTimeout = error as? ChannelError { return true }
        if let error = error as? HTTPClientError {
            return [.connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout].contains(error)
        }
        if let error = error as? IOError {
            return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, EADDRNOTAVAIL].contains(error.errnoCode)
        }
        return isTLSFailure(error)
    }

    /// The server closed the connection before any answer came: a kept-alive connection it gave up on as the
    /// request went out (uvicorn closes the ones it will not reuse, e.g. after answering an unread body).
    static func isClosedBeforeAnswer(_ error: any Error) -> Bool {
        (error as? HTTPClientError) == .remoteConnectionClosed
            || (error as? KeepAliveHTTPError) == .closedBeforeAnswer
    }

    static func isTLSFailure(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
    }

    static func isCancellation(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        if let error = error as? HTTPClientError { return error == .cancelled }
        return false
    }

    /// A short human description of a transport error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve the host name (\(dns))" }
            return "cannot connect"
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ECONNRESET: return "connection reset"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            case ETIMEDOUT: return "connection timed out"
            default: return "\(error)"
            }
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "no connection within \(UpstreamHTTPClient.connectTimeout)"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .redirectLimitReached: return "too many redirects"
            case .redirectCycleDetected: return "a redirect cycle"
            default: return "\(error)"
            }
        }
        if case .connectTimeout = error as? ChannelError {
            return "no connection within \(UpstreamHTTPClient.connectTimeout)"
        }
        if isTLSFailure(error) { return "TLS failed: \(error)" }
        return "\(error)"
    }

    /// The JSON-RPC error a server put in an HTTP error body, if it did.
    static func jsonRPCError(in body: ByteBuffer?) -> MCPClientError? {
        guard let body, let parsed = try? JSON.parse(body.readableBytesView),
            let error = parsed["error"], let code = error["code"]?.intValue
        else { return nil }
        return .rpc(
            code: code, message: error["message"]?.stringValue ?? "(no message)",
            data: error["data"].flatMap { $0.isNull ? nil : $0 })
    }

    /// `HTTP 405 Method Not Allowed: <start of the body>` for error messages.
    static func statusText(_ status: HTTPResponseStatus, body: ByteBuffer?) -> String {
        var text = "HTTP \(status.code) \(status.reasonPhrase)"
        if let body, body.readableBytes > 0 {
            let snippet = String(buffer: body).prefix(200).trimmingCharacters(in: .whitespacesAndNewlines)
            if !snippet.isEmpty { text += ": \(snippet.replacingOccurrences(of: "\n", with: " "))" }
        }
        return text
    }

    /// Whether two absolute URLs share scheme, host and port (where static headers may follow).
    static func sameOrigin(_ first: URL, _ second: URL) -> Bool {
        guard let firstScheme = first.scheme?.lowercased(), let secondScheme = second.scheme?.lowercased() else {
            return false
        }
        return firstScheme == secondScheme && first.host?.lowercased() == second.host?.lowercased()
            && effectivePort(first) == effectivePort(second)
    }

    private static func effectivePort(_ url: URL) -> Int? {
        url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
    }
}

/// Values sent in MCP headers: plain when they are safe visible ASCII, else the Base64 sentinel form
/// `=?base64?…?=` of 2026-07-28 (also for plain values that look like the sentinel).
enum MCPHeaderValue {
    static func encode(_ value: String) -> String {
        let bytes = Array(value.utf8)
        let blank: Set<UInt8> = [0x20, 0x09]
        let safe =
            bytes.allSatisfy { blank.contains($0) || (0x21...0x7E).contains($0) }
            && !(bytes.first.map(blank.contains) ?? false) && !(bytes.last.map(blank.contains) ?? false)
        let looksEncoded = value.hasPrefix("=?base64?") && value.hasSuffix("?=")
        if safe && !looksEncoded { return value }
        return "=?base64?" + Data(bytes).base64EncodedString() + "?="
    }
}
