import AsyncHTTPClient
import Foundation
import JSONValue
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TestSupport

@testable import MCPOAuth

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

enum TestPaths {
    static var python: String { OAuthFixtureServers.python }
    static var fixture: String { OAuthFixtureServers.script }
}

/// One HTTP client for the tests: no redirects (the "browser" follows them itself), bounded.
let testHTTP: HTTPClient = FixtureHTTP.client

let oauthHTTP = OAuthHTTPClient(client: testHTTP, timeout: .seconds(15))

/// The authorization server + protected MCP server of `oauth_fixture.py` (in `TestSupport`).
typealias OAuthFixture = OAuthFixtureServers

extension OAuthFixtureServers {
    typealias Reply = FixtureReply

    /// A raw JSON-RPC POST to the MCP endpoint (`path` /mcp or /mcp-admin) with an optional bearer token.
    func mcp(
        _ body: JSON, token: String?, path: String = "/mcp", session: String? = nil
    ) async throws -> Reply {
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let session { headers.append(("Mcp-Session-Id", session)) }
        return try await send(.POST, rsOrigin + path, headers: headers, body: body.text)
    }

    static let initialize: JSON = [
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": [
            "protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "oauth-test", "version": "1"],
        ],
    ]

    /// initialize + initialized + tools/call whoami with `token`; the tool's answer (JSON text) parsed.
    func whoami(token: String, path: String = "/mcp") async throws -> JSON? {
        let initialized = try await mcp(Self.initialize, token: token, path: path)
        guard initialized.status == 200, let session = initialized.headers.first(name: "mcp-session-id") else {
            throw FixtureFailure("initialize: \(initialized.status) \(initialized.body)")
        }
        _ = try await mcp(
            ["jsonrpc": "2.0", "method": "notifications/initialized"], token: token, path: path, session: session)
        let call = try await mcp(
            [
                "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": ["name": "whoami", "arguments": [:]],
            ], token: token, path: path, session: session)
        guard call.status == 200, let text = call.json?["result"]?["content"]?[0]?["text"]?.stringValue else {
            throw FixtureFailure("whoami: \(call.status) \(call.body)")
        }
        return try JSON.parse(text)
    }
}

enum HTTPTest {
    static func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil)
        async throws -> FixtureReply
    {
        try await FixtureHTTP.send(method, url, headers: headers, body: body)
    }
}

/// A browser stand-in: follows redirects (in `TestSupport`).
typealias Browser = RedirectBrowser

enum TemporaryFolder {
    static func make() throws -> String {
        let path = NSTemporaryDirectory() + "mcpo-oauth-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Runs `body` with a started fixture and always kills it afterwards.
func withFixture<T>(_ flags: [String] = [], _ body: (OAuthFixture) async throws -> T) async throws -> T {
    let fixture = try await OAuthFixture.start(flags)
    do {
        let result = try await body(fixture)
        await fixture.stop()
        return result
    } catch {
        await fixture.stop()
        throw error
    }
}

/// The error `body` ended with (as OAuthError), or nil when it succeeded.
func oauthFailure<T>(_ body: () async throws -> T) async -> OAuthError? {
    do {
        _ = try await body()
        return nil
    } catch let error as OAuthError {
        return error
    } catch {
        return .transport("not an OAuthError: \(error)")
    }
}

/// The query parameters of a URL, first value of each.
func queryItems(_ url: String) -> [String: String] {
    guard let mark = url.firstIndex(of: "?") else { return [:] }
    var result: [String: String] = [:]
    for (name, value) in FormEncoding.decode(String(url[url.index(after: mark)...])) where result[name] == nil {
        result[name] = value
    }
    return result
}

/// Collects every log message and metadata value, to check that no secret is ever logged.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "oauth-test") { _ in CaptureHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    struct CaptureHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let line = "\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted())"
            capture.lines.withLock { $0.append(line) }
        }
    }
}

/// A clock the tests move.
final class TestClock: Sendable {
    let current: Mutex<Date>
    init(_ start: Date = Date()) { current = Mutex(start) }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var now: @Sendable () -> Date { { self.current.withLock { $0 } } }
}

extension OAuthSettings {
    /// Settings for the fixture's MCP server with a loopback callback on a free port, memory storage.
    static func fixture(_ fixture: OAuthFixture, port: Int, _ change: (inout OAuthSettings) -> Void = { _ in })
        -> OAuthSettings
    {
        var settings = OAuthSettings(serverURL: fixture.mcpURL, storageType: .memory, callbackPort: port)
        change(&settings)
        return settings
    }
}
