import AsyncHTTPClient
import Foundation
import JSONValue
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Shared by the OAuth unit tests and the integration tests: the authorization server + protected MCP server
/// of `Tests/Fixtures/python/oauth/oauth_fixture.py`, a plain HTTP client and a browser stand-in.
public struct FixtureFailure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// One HTTP answer, body as text.
public struct FixtureReply: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: String
    public var json: JSON? { try? JSON.parse(body) }

    public init(status: Int, headers: HTTPHeaders, body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Plain HTTP for the tests: no redirects (the browser stand-in follows them itself), bounded.
public enum FixtureHTTP {
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        // Well below uvicorn's keep-alive (5 s): a pooled connection the fixture is closing is never reused (that
        // race fails a request with remoteConnectionClosed on a busy machine).
        configuration.connectionPool.idleTimeout = .seconds(2)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public static func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> FixtureReply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        // A fresh connection each time: uvicorn closes idle ones after 5 s, and a request written on a
        // connection the server is closing fails ("I/O on closed channel") on a loaded machine.
        request.headers.replaceOrAdd(name: "Connection", value: "close")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return FixtureReply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }
}

/// A browser stand-in: follows redirects (up to 8) with GET, keeping each hop.
public enum RedirectBrowser {
    public struct Visit: Sendable {
        public var hops: [String]
        public var status: Int
        public var body: String
        /// Headers of the last answer.
        public var headers: HTTPHeaders
        public var finalURL: String { hops.last ?? "" }
    }

    /// Follows redirects from `url` (relative `Location`s resolved), sending `headers` to every hop; stops
    /// before any URL for which `stopAt` is true (returning it as the last hop with status 0).
    public static func open(
        _ url: String, headers: [(String, String)] = [], stopAt: (@Sendable (String) -> Bool)? = nil
    ) async throws -> Visit {
        var hops = [url]
        var current = url
        for _ in 0..<8 {
            let reply = try await FixtureHTTP.send(.GET, current, headers: headers)
            guard (300..<400).contains(reply.status), let location = reply.headers.first(name: "location") else {
                return Visit(hops: hops, status: reply.status, body: reply.body, headers: reply.headers)
            }
            current = URL(string: location, relativeTo: URL(string: current))?.absoluteString ?? location
            hops.append(current)
            if let stopAt, stopAt(current) { return Visit(hops: hops, status: 0, body: "", headers: [:]) }
        }
        throw FixtureFailure("too many redirects from \(url)")
    }
}

/// The authorization server + protected MCP server of `oauth_fixture.py`, on free ports of 127.0.0.1, run by
/// the Python of `.venv-mcp1` (`scripts/setup-test-env.sh`). Killed by pid in `stop()`.
public final class OAuthFixtureServers: Sendable {
    public let asPort: Int
    public let rsPort: Int
    public let issuer: String
    private let process: AnnouncingProcess

    public var mcpURL: String { "http://127.0.0.1:\(rsPort)/mcp" }
    public var rsOrigin: String { "http://127.0.0.1:\(rsPort)" }
    public var asOrigin: String { "http://127.0.0.1:\(asPort)" }

    /// The repository's root (this file is `Tests/TestSupport/OAuthFixtureServers.swift`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static var python: String { repositoryRoot.appendingPathComponent(".venv-mcp1/bin/python").path }
    public static var script: String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/python/oauth/oauth_fixture.py").path
    }

    private init(asPort: Int, rsPort: Int, issuer: String, process: AnnouncingProcess) {
        self.asPort = asPort
        self.rsPort = rsPort
        self.issuer = issuer
        self.process = process
    }

    /// Starts the fixture with `flags` and waits (bounded) until both servers answer.
    public static func start(_ flags: [String] = []) async throws -> OAuthFixtureServers {
        let name = "oauth_fixture.py \(flags)"
        let process = try await AnnouncingProcess.start([python, script] + flags, name: name) {
            guard let asPort = $0["as"]?.intValue, let rsPort = $0["rs"]?.intValue else { return false }
            // Both answer HTTP once the MCP app's lifespan has started.
            for port in [asPort, rsPort] {
                guard (try? await FixtureHTTP.send(.GET, "http://127.0.0.1:\(port)/_log").status) == 200 else {
                    return false
                }
            }
            return true
        }
        guard let asPort = process.announcement["as"]?.intValue, let rsPort = process.announcement["rs"]?.intValue,
            let issuer = process.announcement["issuer"]?.stringValue
        else {
            await process.stop()
            throw FixtureFailure("\(name) announced no ports and issuer: \(process.announcement)")
        }
        return OAuthFixtureServers(asPort: asPort, rsPort: rsPort, issuer: issuer, process: process)
    }

    /// SIGKILL to the fixture process, then waits (bounded) until it is gone.
    public func stop() async {
        await process.stop()
    }

    /// Every request either server saw, in order.
    public func log() async throws -> [JSON] {
        let response = try await get("\(asOrigin)/_log")
        return response.json?.arrayValue ?? []
    }

    /// The log entries of `server` ("as" or "rs") for `method` `path`.
    public func requests(_ server: String, _ method: String, _ path: String) async throws -> [JSON] {
        try await log().filter {
            $0["server"]?.stringValue == server && $0["method"]?.stringValue == method
                && $0["path"]?.stringValue == path
        }
    }

    /// POST to a test hook of the authorization server (`/_admin/revoke_all`, `/_admin/expire_all`).
    public func admin(_ path: String) async throws {
        let response = try await send(.POST, "\(asOrigin)\(path)")
        guard response.status == 200 else { throw FixtureFailure("\(path): \(response.status)") }
    }

    public func get(_ url: String, headers: [(String, String)] = []) async throws -> FixtureReply {
        try await send(.GET, url, headers: headers)
    }

    public func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil)
        async throws -> FixtureReply
    {
        try await FixtureHTTP.send(method, url, headers: headers, body: body)
    }
}
