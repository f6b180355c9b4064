import AsyncHTTPClient
import Foundation
import JSONValue
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

@testable import MCPOAuth

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

enum TestPaths {
    /// Symbolic links resolved: the test folder may be linked into a scratch package.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var python: String { repositoryRoot.appendingPathComponent(".venv-mcp1/bin/python").path }
    static var fixture: String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/python/oauth/oauth_fixture.py").path
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    let description: String
}

/// One HTTP client for the tests: no redirects (the "browser" follows them itself), bounded.
let testHTTP: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

let oauthHTTP = OAuthHTTPClient(client: testHTTP, timeout: .seconds(15))

/// The authorization server + protected MCP server of `oauth_fixture.py`, on free ports of 127.0.0.1.
final class OAuthFixture: Sendable {
    let asPort: Int
    let rsPort: Int
    let issuer: String
    private let process: Mutex<Process?>
    private let folder: String

    var mcpURL: String { "http://127.0.0.1:\(rsPort)/mcp" }
    var rsOrigin: String { "http://127.0.0.1:\(rsPort)" }
    var asOrigin: String { "http://127.0.0.1:\(asPort)" }

    private init(asPort: Int, rsPort: Int, issuer: String, process: Process, folder: String) {
        self.asPort = asPort
        self.rsPort = rsPort
        self.issuer = issuer
        self.process = Mutex(process)
        self.folder = folder
    }

    /// Starts the fixture with `flags` and waits (bounded) for its ports line.
    static func start(_ flags: [String] = []) async throws -> OAuthFixture {
        guard FileManager.default.isExecutableFile(atPath: TestPaths.python) else {
            throw FixtureFailure(description: "\(TestPaths.python) missing: run scripts/setup-test-env.sh")
        }
        let folder = try TemporaryFolder.make()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: TestPaths.python)
        child.arguments = [TestPaths.fixture] + flags
        _ = FileManager.default.createFile(atPath: folder + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: folder + "/stderr", contents: nil)
        child.standardOutput = FileHandle(forWritingAtPath: folder + "/stdout")
        child.standardError = FileHandle(forWritingAtPath: folder + "/stderr")
        try child.run()
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: folder + "/stdout", encoding: .utf8),
                let line = text.split(separator: "\n").first, text.contains("\n"),
                let json = try? JSON.parse(String(line)), let asPort = json["as"]?.intValue,
                let rsPort = json["rs"]?.intValue, let issuer = json["issuer"]?.stringValue
            {
                let fixture = OAuthFixture(
                    asPort: asPort, rsPort: rsPort, issuer: issuer, process: child, folder: folder)
                // Wait until both answer HTTP (the MCP app's lifespan has started).
                while ContinuousClock.now < deadline {
                    if (try? await fixture.get("\(fixture.asOrigin)/_log").status) == 200,
                        (try? await fixture.get("\(fixture.rsOrigin)/_log").status) == 200
                    {
                        return fixture
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                break
            }
            if !child.isRunning {
                let stderr = (try? String(contentsOfFile: folder + "/stderr", encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: folder)
                throw FixtureFailure(description: "oauth_fixture.py \(flags) exited: \(stderr.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(child.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: folder)
        throw FixtureFailure(description: "oauth_fixture.py \(flags) did not start")
    }

    /// SIGKILL to the fixture process, then waits (bounded) until it is gone.
    func stop() async {
        guard let child = process.withLock({ $0.take() }) else { return }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(10)
        while child.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Every request either server saw, in order.
    func log() async throws -> [JSON] {
        let response = try await get("\(asOrigin)/_log")
        return response.json?.arrayValue ?? []
    }

    /// The log entries of `server` ("as" or "rs") for `method` `path`.
    func requests(_ server: String, _ method: String, _ path: String) async throws -> [JSON] {
        try await log().filter {
            $0["server"]?.stringValue == server && $0["method"]?.stringValue == method
                && $0["path"]?.stringValue == path
        }
    }

    func admin(_ path: String) async throws {
        let response = try await send(.POST, "\(asOrigin)\(path)")
        guard response.status == 200 else { throw FixtureFailure(description: "\(path): \(response.status)") }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var json: JSON? { try? JSON.parse(body) }
    }

    func get(_ url: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(.GET, url, headers: headers)
    }

    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil)
        async throws -> Reply
    {
        try await HTTPTest.send(method, url, headers: headers, body: body)
    }

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
            throw FixtureFailure(description: "initialize: \(initialized.status) \(initialized.body)")
        }
        _ = try await mcp(
            ["jsonrpc": "2.0", "method": "notifications/initialized"], token: token, path: path, session: session)
        let call = try await mcp(
            [
                "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": ["name": "whoami", "arguments": [:]],
            ], token: token, path: path, session: session)
        guard call.status == 200, let text = call.json?["result"]?["content"]?[0]?["text"]?.stringValue else {
            throw FixtureFailure(description: "whoami: \(call.status) \(call.body)")
        }
        return try JSON.parse(text)
    }
}

enum HTTPTest {
    static func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil)
        async throws -> OAuthFixture.Reply
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await testHTTP.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return OAuthFixture.Reply(
            status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }
}

/// A browser stand-in: follows redirects (up to 8) with GET, keeping each hop.
enum Browser {
    struct Visit: Sendable {
        var hops: [String]
        var status: Int
        var body: String
        var finalURL: String { hops.last ?? "" }
    }

    /// Follows redirects from `url`; stops before any URL for which `stopAt` is true (returning it as the last
    /// hop with status 0), e.g. to hand a callback to the manager directly.
    static func open(_ url: String, stopAt: (@Sendable (String) -> Bool)? = nil) async throws -> Visit {
        var hops = [url]
        var current = url
        for _ in 0..<8 {
            let reply = try await HTTPTest.send(.GET, current)
            guard (300..<400).contains(reply.status), let location = reply.headers.first(name: "location") else {
                return Visit(hops: hops, status: reply.status, body: reply.body)
            }
            current = location
            hops.append(location)
            if let stopAt, stopAt(location) { return Visit(hops: hops, status: 0, body: "") }
        }
        throw FixtureFailure(description: "too many redirects from \(url)")
    }
}

enum TemporaryFolder {
    static func make() throws -> String {
        let path = NSTemporaryDirectory() + "mcpo-oauth-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

enum LocalPort {
    /// A port the kernel considers free now (bound to 0, then released).
    static func free() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureFailure(description: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw FixtureFailure(description: "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw FixtureFailure(description: "getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something listens on 127.0.0.1:`port`.
    static func accepts(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
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

/// Polls `condition` until it holds or `bound` passes.
func eventually(
    within bound: Duration = .seconds(20), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + bound
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
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
