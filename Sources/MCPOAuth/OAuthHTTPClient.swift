import AsyncHTTPClient
import Foundation
import JSONValue
import NIOCore
import NIOHTTP1

/// The HTTP requests the OAuth layer makes (metadata, registration, token, revocation, device endpoints),
/// each bounded by `timeout` as a whole (connect, head and body), bodies capped at `maxBodyBytes`.
///
/// The `HTTPClient` must not follow redirects: metadata is not served at a redirected URL (it would be
/// another issuer's), and a token request must never be re-sent elsewhere.
/// `makeClient()` configures one that way; the proxy may pass its own (e.g. with its TLS trust roots).
public struct OAuthHTTPClient: Sendable {
    public let client: HTTPClient
    public var timeout: Duration
    public var maxBodyBytes: Int

    public init(client: HTTPClient, timeout: Duration = .seconds(15), maxBodyBytes: Int = 1 << 20) {
        self.client = client
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
    }

    /// A client for OAuth traffic: no redirects, 10 s connect timeout, system trust store.
    /// Shut it down (`client.shutdown()`) when done.
    public static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(30))
        configuration.connectionPool.retryConnectionEstablishment = false
        // Below the 5 s keep-alive of uvicorn and Node: the client closes an unused connection before the server does.
        configuration.connectionPool.idleTimeout = .seconds(4)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        var json: JSON? { try? JSON.parse(body) }
        var isSuccess: Bool { (200..<300).contains(status) }

        /// RFC 6749 §5.2 `error` / `error_description` of an error body.
        var oauthError: (error: String, description: String?) {
            let json = json
            return (json?["error"]?.stringValue ?? "http_\(status)", json?["error_description"]?.stringValue)
        }
    }

    /// Protocol version header sent on metadata requests, as the MCP SDKs do.
    static let protocolVersion = "2025-11-25"

    func get(_ url: String, headers: [(String, String)] = []) async throws(OAuthError) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await send(request)
    }

    func postForm(
        _ url: String, fields: [(String, String)], basicAuth: (user: String, password: String)? = nil
    ) async throws(OAuthError) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        if let basicAuth {
            // RFC 6749 §2.3.1: both parts form-encoded before Base64.
            let pair = FormEncoding.escape(basicAuth.user) + ":" + FormEncoding.escape(basicAuth.password)
            request.headers.add(name: "Authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
        }
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        return try await send(request)
    }

    func postJSON(_ url: String, body: JSON) async throws(OAuthError) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.bytes))
        return try await send(request)
    }

    private func send(_ request: HTTPClientRequest) async throws(OAuthError) -> Response {
        let client = client
        let limit = maxBodyBytes
        let bound = timeout
        let target = Self.redacted(request.url)
        do {
            return try await withDeadline(bound) {
                let seconds = Int64(bound.components.seconds) + 1
                let response: HTTPClientResponse
                do {
                    response = try await client.execute(request, timeout: .seconds(seconds))
                } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
                    // The pooled connection had closed before the request was written: nothing reached the server,
                    // so sending it once more is safe (a token request included).
                    response = try await client.execute(request, timeout: .seconds(seconds))
                }
                let body = try await response.body.collect(upTo: limit)
                return Response(
                    status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
            }
        } catch is DeadlineExceeded {
            throw .transport("\(request.method.rawValue) \(target): no answer within \(bound)")
        } catch is CancellationError {
            throw .transport("\(request.method.rawValue) \(target): cancelled")
        } catch {
            throw .transport("\(request.method.rawValue) \(target): \(error)")
        }
    }

    /// The URL without its query (which may carry codes or state) for messages.
    static func redacted(_ url: String) -> String {
        guard let mark = url.firstIndex(of: "?") else { return url }
        return String(url[..<mark]) + "?…"
    }
}

struct DeadlineExceeded: Error {}

/// Runs `operation`, cancelling it and throwing `DeadlineExceeded` when `bound` passes first.
func withDeadline<T: Sendable>(
    _ bound: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: bound)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
