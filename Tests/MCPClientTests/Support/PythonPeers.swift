import Foundation
import Synchronization
import TestSupport

@testable import MCPClient

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Paths of the Python fixture servers (scripts/setup-test-env.sh creates the environments).
enum PeerPaths {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func python(_ line: SDKLine) -> String {
        repositoryRoot.appendingPathComponent(".venv-\(line.rawValue)/bin/python").path
    }

    static func fixture(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/python/\(name)").path
    }
}

/// The two lines of the official Python SDK.
enum SDKLine: String, Sendable, CaseIterable, CustomStringConvertible {
    case mcp1
    case mcp2

    var script: String { self == .mcp1 ? "fastmcp_v1.py" : "mcpserver_v2.py" }
    var description: String { rawValue }
}

/// How a Python SDK fixture serves over HTTP.
struct PeerMode: Sendable, CustomStringConvertible {
    var line: SDKLine
    /// `sse` or `streamable-http`.
    var transport: String
    var flags: [String] = []

    var path: String { transport == "sse" ? "/sse" : "/mcp" }
    var description: String { ([line.rawValue, transport] + flags).joined(separator: " ") }

    static let all: [PeerMode] = SDKLine.allCases.flatMap { line in
        [
            PeerMode(line: line, transport: "sse"),
            PeerMode(line: line, transport: "streamable-http"),
            PeerMode(line: line, transport: "streamable-http", flags: ["--json-response"]),
            PeerMode(line: line, transport: "streamable-http", flags: ["--stateless"]),
        ]
    }
}

struct PeerStartFailure: Error, CustomStringConvertible {
    let description: String
}

/// A Python MCP server on a free port of 127.0.0.1; `stop()` kills it by pid (also via `withPeer`).
final class PythonPeer: Sendable {
    private let fixture: FixtureProcess

    var port: Int { fixture.port }

    private init(port: Int, arguments: [String]) {
        self.fixture = FixtureProcess(port: port, arguments: arguments)
    }

    /// An SDK fixture in `mode`, listening once this returns.
    static func start(_ mode: PeerMode) async throws -> PythonPeer {
        let port = try FixturePorts.reserve()
        let peer = PythonPeer(
            port: port,
            arguments: [
                PeerPaths.python(mode.line), PeerPaths.fixture(mode.line.script), "--transport", mode.transport,
            ]
                + mode.flags + ["--port", String(port)])
        try await peer.launch()
        return peer
    }

    /// A peer that is not running yet (for "server down at startup" tests); `launch()` starts it.
    static func notStarted(_ mode: PeerMode) throws -> PythonPeer {
        let port = try FixturePorts.reserve()
        return PythonPeer(
            port: port,
            arguments: [
                PeerPaths.python(mode.line), PeerPaths.fixture(mode.line.script), "--transport", mode.transport,
            ]
                + mode.flags + ["--port", String(port)])
    }

    /// The standard-library behaviours fixture (http_behaviors.py).
    static func behaviors() async throws -> PythonPeer {
        let port = try FixturePorts.reserve()
        let peer = PythonPeer(
            port: port,
            arguments: [PeerPaths.python(.mcp1), PeerPaths.fixture("http_behaviors.py"), "--port", String(port)])
        try await peer.launch()
        return peer
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Starts the process (again, on the same port) and waits until the port accepts connections.
    func launch(bound: Duration = .seconds(120)) async throws {
        try await fixture.launch(bound: bound)
    }

    /// SIGKILL to the process this peer started, then waits (bounded) until it is gone.
    func stop() async {
        await fixture.stop()
    }

    /// The requests the behaviours fixture has seen.
    func requestLog() async throws -> [[String: Any]] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: url("/_log"))!)  // fixed, valid URL
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}

/// Runs `body` with a started peer and always kills it afterwards.
func withPeer<T>(_ peer: PythonPeer, _ body: (PythonPeer) async throws -> T) async throws -> T {
    do {
        let result = try await body(peer)
        await peer.stop()
        return result
    } catch {
        await peer.stop()
        throw error
    }
}

/// The error `body` ended with, or nil when it succeeded.
func failure(of body: () async throws(MCPClientError) -> Void) async -> MCPClientError? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// Runs `body` with the server and always shuts it down afterwards (ending its session upstream).
func withServer<T>(_ server: UpstreamServer, _ body: (UpstreamServer) async throws -> T) async throws -> T {
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}
