import Foundation
import JSONValue
import Logging
import MCPOConfig
import Synchronization
import TestSupport
import Testing

@testable import MCPClient

/// `UpstreamServer` over legacy SSE and streamable HTTP against the official Python SDK servers, both
/// lines, in every mode they offer.
@Suite("remote transports against the Python SDK")
struct RemoteSDKTests {
    /// The handshake's bound, there only to catch a hang: the suites start many Python servers at once, and on two
    /// busy cores their handshakes took longer than the 20 s this was.
    static let startupBound = 300.0

    @Test("connects, lists, calls, and runs many calls at once over one session", arguments: PeerMode.all)
    func callsAndConcurrency(mode: PeerMode) async throws {
        try await withPeer(try await PythonPeer.start(mode)) { peer in
            try await withServer(makeServer(mode, peer)) { server in
                let snapshot = try await server.start()
                #expect(snapshot.tools.contains { $0["name"] == "echo" })
                // mcp 2.x over streamable HTTP speaks the stateless revision; everything else the handshake.
                let expectedVersion =
                    mode.line == .mcp2 && mode.transport == "streamable-http" ? "2026-07-28" : "2025-11-25"
                #expect(snapshot.server.protocolVersion == expectedVersion)
                #expect(server.status.state == .connected)

                let echo = try await server.callTool(name: "echo", arguments: ["text": "hello"], timeout: 30)
                #expect(echo["content"]?[0]?["text"] == "hello")
                let failed = try await server.callTool(name: "explode", arguments: ["message": "boom"], timeout: 30)
                #expect(failed["isError"] == true)

                // 40 calls that each wait until all 40 are in flight: serialised, they would never meet.
                let group = "concurrency-\(mode.line)-\(mode.transport)"
                let tags = try await withThrowingTaskGroup(of: String?.self) { tasks in
                    for index in 0..<40 {
                        tasks.addTask {
                            let result = try await server.callTool(
                                name: "rendezvous",
                                arguments: [
                                    "group": .string(group), "count": 40, "tag": .string("t\(index)"), "timeout": 120,
                                ],
                                timeout: 600)
                            #expect(result["isError"] != true, "\(result)")
                            return result["content"]?[0]?["text"]?.stringValue
                        }
                    }
                    var tags: Set<String> = []
                    for try await tag in tasks { if let tag { tags.insert(tag) } }
                    return tags
                }
                #expect(tags == Set((0..<40).map { "t\($0)" }))
            }
        }
    }

    @Test("a call that outlives its timeout fails with timedOut, and the session stays usable")
    func timeout() async throws {
        for mode in [
            PeerMode(line: .mcp1, transport: "streamable-http"), PeerMode(line: .mcp2, transport: "streamable-http"),
        ] {
            try await withPeer(try await PythonPeer.start(mode)) { peer in
                try await withServer(makeServer(mode, peer)) { server in
                    try await server.start()
                    await #expect(throws: MCPClientError.timedOut(seconds: 0.5)) {
                        _ = try await server.callTool(name: "slow", arguments: ["seconds": 10], timeout: 0.5)
                    }
                    let echo = try await server.callTool(name: "echo", arguments: ["text": "still here"], timeout: 30)
                    #expect(echo["content"]?[0]?["text"] == "still here")
                }
            }
        }
    }

    @Test(
        "tool-list changes reach the observer",
        arguments: PeerMode.all.filter { !($0.line == .mcp1 && $0.flags == ["--stateless"]) })
    func toolListChanged(mode: PeerMode) async throws {
        try await withPeer(try await PythonPeer.start(mode)) { peer in
            try await withServer(makeServer(mode, peer)) { server in
                let seen = Mutex<[String]>([])
                server.observe { snapshot in
                    seen.withLock { $0 = snapshot.tools.compactMap { $0["name"]?.stringValue } }
                }
                try await server.start()
                _ = try await server.callTool(name: "add_tool", arguments: [:], timeout: 30)
                let changed = await pollUntil(within: .seconds(90)) { seen.withLock { $0.contains("late_tool") } }
                #expect(changed, "no list_changed for \(mode)")
            }
        }
    }

    @Test("a streamable-http URL that is a legacy SSE endpoint falls back to SSE", arguments: SDKLine.allCases)
    func fallbackToLegacySSE(line: SDKLine) async throws {
        let mode = PeerMode(line: line, transport: "sse")
        try await withPeer(try await PythonPeer.start(mode)) { peer in
            let server = UpstreamServer(
                entry: ServerEntry(name: "peer", transport: .streamableHTTP(RemoteEndpoint(url: peer.url("/sse")))),
                client: ClientIdentity(name: "swift-mcpo-tests", version: "0"), startupTimeout: Self.startupBound,
                logger: Logger(label: "test"))
            try await withServer(server) { server in
                try await server.start()
                let echo = try await server.callTool(name: "echo", arguments: ["text": "legacy"], timeout: 30)
                #expect(echo["content"]?[0]?["text"] == "legacy")
            }
        }
    }

    @Test(
        "a server that is down at first is served as soon as it comes up",
        arguments: [
            PeerMode(line: .mcp1, transport: "streamable-http"), PeerMode(line: .mcp2, transport: "streamable-http"),
            PeerMode(line: .mcp1, transport: "sse"),
        ])
    func downAtStartup(mode: PeerMode) async throws {
        let peer = try PythonPeer.notStarted(mode)
        try await withPeer(peer) { peer in
            try await withServer(makeServer(mode, peer)) { server in
                let published = Mutex(0)
                server.observe { _ in published.withLock { $0 += 1 } }
                server.startInBackground()
                let retrying = await pollUntil(within: .seconds(90)) {
                    if case .reconnecting = server.status.state { return true }
                    return false
                }
                #expect(retrying, "\(server.status)")
                #expect(server.status.lastError?.contains("127.0.0.1:\(peer.port)") == true, "\(server.status)")
                // While down, calls fail at once with the supervisor's answer: no connect attempt inside the call
                // (one would fail as unreachable, not as reconnecting).
                let refusal = await failure { () async throws(MCPClientError) in
                    _ = try await server.callTool(name: "echo", arguments: ["text": "x"], timeout: 600)
                }
                guard case .unavailable(let reason)? = refusal else {
                    Issue.record("expected unavailable, got \(String(describing: refusal))")
                    return
                }
                #expect(reason.hasPrefix("reconnecting to the server"), "\(reason)")
                try await peer.launch()
                let connected = await pollUntil(within: .seconds(90)) { published.withLock { $0 } > 0 }
                #expect(connected, "\(server.status)")
                let echo = try await server.callTool(name: "echo", arguments: ["text": "up"], timeout: 30)
                #expect(echo["content"]?[0]?["text"] == "up")
            }
        }
    }

    @Test(
        "killed mid-call: the call fails as disconnected, later calls as unavailable, then it is back",
        arguments: [
            PeerMode(line: .mcp1, transport: "streamable-http"), PeerMode(line: .mcp2, transport: "streamable-http"),
            PeerMode(line: .mcp1, transport: "sse"),
            PeerMode(line: .mcp2, transport: "streamable-http", flags: ["--json-response"]),
        ])
    func killAndRestart(mode: PeerMode) async throws {
        try await withPeer(try await PythonPeer.start(mode)) { peer in
            try await withServer(makeServer(mode, peer)) { server in
                let published = Mutex(0)
                server.observe { _ in published.withLock { $0 += 1 } }
                server.startInBackground()
                #expect(await pollUntil(within: .seconds(90)) { server.status.state == .connected })
                let connects = published.withLock { $0 }

                // A call that has reached the server when the server goes: its marker file says it arrived.
                let marker = NSTemporaryDirectory() + "in-flight-\(UUID().uuidString)"
                defer { try? FileManager.default.removeItem(atPath: marker) }
                // Set when the call ends: one that ends before its marker appears never reached the tool, and
                // says why at once instead of leaving the test to wait for a marker that will not come.
                let ended = Mutex<MCPClientError??>(nil)
                let inFlight = Task {
                    let outcome = await failure { () async throws(MCPClientError) in
                        _ = try await server.callTool(
                            name: "marked_wait", arguments: ["seconds": 120, "marker": .string(marker)], timeout: 600)
                    }
                    ended.withLock { $0 = .some(outcome) }
                    return outcome
                }
                _ = await pollUntil(within: .seconds(90)) {
                    FileManager.default.fileExists(atPath: marker) || ended.withLock { $0 != nil }
                }
                guard FileManager.default.fileExists(atPath: marker) else {
                    inFlight.cancel()
                    let outcome = ended.withLock { $0 }.map { "ended with \($0.map { "\($0)" } ?? "a result")" }
                    Issue.record("the call never reached the tool: \(outcome ?? "not there in 90 s"); \(server.status)")
                    return
                }
                await peer.stop()
                let outcome = await inFlight.value
                guard case .disconnected = outcome else {
                    Issue.record("the call in flight ended with \(String(describing: outcome))")
                    return
                }
                // The death is noticed (GET or listen stream, or the next call), then calls fail fast.
                let unavailable = await pollUntil(within: .seconds(90)) {
                    let error = await failure { () async throws(MCPClientError) in
                        _ = try await server.callTool(name: "echo", arguments: ["text": "x"], timeout: 5)
                    }
                    if case .unavailable? = error { return true }
                    return false
                }
                #expect(unavailable, "\(server.status)")
                try await peer.launch()
                let back = await pollUntil(within: .seconds(90)) { published.withLock { $0 } > connects }
                #expect(back, "\(server.status)")
                let echo = try await server.callTool(name: "echo", arguments: ["text": "back"], timeout: 30)
                #expect(echo["content"]?[0]?["text"] == "back")
            }
        }
    }

    private func makeServer(_ mode: PeerMode, _ peer: PythonPeer) -> UpstreamServer {
        let endpoint = RemoteEndpoint(url: peer.url(mode.path))
        let transport: ServerTransport = mode.transport == "sse" ? .sse(endpoint) : .streamableHTTP(endpoint)
        return UpstreamServer(
            entry: ServerEntry(name: "peer", transport: transport),
            client: ClientIdentity(name: "swift-mcpo-tests", version: "0"), startupTimeout: Self.startupBound,
            logger: Logger(label: "test"))
    }
}
