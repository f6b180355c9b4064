import Foundation
import JSONValue
import Logging
import MCPOConfig
import Synchronization
import TestSupport
import Testing

@testable import MCPClient

/// Transport behaviours provoked on demand with the standard-library fixture (http_behaviors.py).
@Suite("remote transport behaviours")
struct RemoteBehaviorTests {
    @Test("static headers on every request; protocol version on every request after initialize; DELETE on shutdown")
    func headersEverywhere() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            let server = makeServer(
                peer, "/mcp",
                headers: [(name: "Authorization", value: "Bearer upstream"), (name: "X-Custom", value: "v")])
            try await server.start()
            #expect(server.snapshot?.server.protocolVersion == "2025-11-25")
            let echo = try await server.callTool(name: "headers", arguments: [:], timeout: 30)
            let seen = try #require(echo["content"]?[0]?["text"]?.stringValue.flatMap { try? JSON.parse($0) })
            #expect(seen["authorization"] == "Bearer upstream")
            #expect(seen["mcp-protocol-version"] == "2025-11-25")
            #expect(seen["mcp-session-id"]?.stringValue?.isEmpty == false)
            #expect(seen["accept"] == "application/json, text/event-stream")
            await server.shutdown()

            let log = try await peer.requestLog()
            #expect(log.count >= 5)
            for entry in log {
                let headers = entry["headers"] as? [String: String] ?? [:]
                #expect(headers["authorization"] == "Bearer upstream", "\(entry)")
                #expect(headers["x-custom"] == "v", "\(entry)")
            }
            // The era probe went first, as a 2026-07-28 request; the mcp 1.x-style answer made it fall back.
            let first = try #require(log.first)
            #expect((first["headers"] as? [String: String])?["mcp-method"] == "server/discover")
            #expect((first["headers"] as? [String: String])?["mcp-protocol-version"] == "2026-07-28")
            let afterInitialize = log.drop { ($0["body"] as? [String: Any])?["method"] as? String != "initialize" }
                .dropFirst()
            #expect(!afterInitialize.isEmpty)
            for entry in afterInitialize where entry["method"] as? String != "CLOSED" {
                #expect((entry["headers"] as? [String: String])?["mcp-protocol-version"] == "2025-11-25", "\(entry)")
            }
            #expect(log.contains { $0["method"] as? String == "DELETE" })
            #expect(log.contains { $0["method"] as? String == "GET" }, "the GET stream was never opened")
        }
    }

    @Test("a configured Host header goes with every request, in place of the URL's", arguments: ["/mcp-json", "/mcp"])
    func configuredHost(path: String) async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            let server = makeServer(peer, path, headers: [(name: "Host", value: "mcp.internal.example")])
            try await server.start()
            for _ in 0..<2 { _ = try await server.callTool(name: "echo", arguments: ["text": "x"], timeout: 30) }
            await server.shutdown()
            let log = try await peer.requestLog()
            #expect(log.count >= 5)
            for entry in log where entry["method"] as? String != "CLOSED" {
                #expect((entry["headers"] as? [String: String])?["host"] == "mcp.internal.example", "\(entry)")
            }
        }
    }

    @Test("a session the server forgets is renewed transparently, once for all callers")
    func sessionExpiry() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/mcp")) { server in
                try await server.start()
                _ = try await server.callTool(name: "expire", arguments: [:], timeout: 30)
                let answers = try await withThrowingTaskGroup(of: JSON.self) { group in
                    for index in 0..<5 {
                        group.addTask {
                            try await server.callTool(
                                name: "echo", arguments: ["text": .string("n\(index)")], timeout: 30)
                        }
                    }
                    var answers: [JSON] = []
                    for try await answer in group { answers.append(answer) }
                    return answers
                }
                #expect(answers.count == 5)
                let log = try await peer.requestLog()
                let initializes = log.filter { ($0["body"] as? [String: Any])?["method"] as? String == "initialize" }
                #expect(initializes.count == 2, "one renewal for all callers")
                #expect(server.status.state == .connected)
            }
        }
    }

    @Test("a response stream cut after an SSE id is resumed with Last-Event-ID")
    func resumption() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/mcp")) { server in
                try await server.start()
                let result = try await server.callTool(name: "cut", arguments: [:], timeout: 30)
                #expect(result["content"]?[0]?["text"] == "resumed")
                let log = try await peer.requestLog()
                #expect(
                    log.contains { ($0["headers"] as? [String: String])?["last-event-id"]?.hasPrefix("cut-") == true })
            }
        }
    }

    @Test("a response stream cut without an SSE id loses the call: disconnected, at once")
    func droppedStream() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/mcp")) { server in
                try await server.start()
                // A call that waited would end in its timeout; a lost one is disconnected.
                let error = await failure { () async throws(MCPClientError) in
                    _ = try await server.callTool(name: "drop", arguments: [:], timeout: 600)
                }
                guard case .disconnected? = error else {
                    Issue.record("expected disconnected, got \(String(describing: error))")
                    return
                }
                let echo = try await server.callTool(name: "echo", arguments: ["text": "fine"], timeout: 30)
                #expect(echo["content"]?[0]?["text"] == "fine")
            }
        }
    }

    @Test("a timed-out call closes its stream and is cancelled upstream")
    func timeoutCancels() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/mcp")) { server in
                try await server.start()
                await #expect(throws: MCPClientError.timedOut(seconds: 0.5)) {
                    _ = try await server.callTool(name: "slow", arguments: ["seconds": 5], timeout: 0.5)
                }
                let noticed = await pollUntil(within: .seconds(90)) {
                    let log = (try? await peer.requestLog()) ?? []
                    let cancelled = log.contains {
                        ($0["body"] as? [String: Any])?["method"] as? String == "notifications/cancelled"
                    }
                    let closed = log.contains { $0["method"] as? String == "CLOSED" }
                    return cancelled && closed
                }
                #expect(noticed)
            }
        }
    }

    @Test("calls in flight together each time out on their own deadline; a longer one still gets its answer")
    func timeoutsInFlightTogether() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/mcp")) { server in
                try await server.start()
                let started = ContinuousClock.now
                async let patient = server.callTool(name: "slow", arguments: ["seconds": 2], timeout: 600)
                async let shorter = Self.endOfCall(server, timeout: 1.0, since: started)
                async let shortest = Self.endOfCall(server, timeout: 0.4, since: started)
                let (first, second) = await (shortest, shorter)
                // Each ends by its own timeout (the tool would answer only after a minute), in the order of their
                // deadlines, none before it.
                #expect(first.error == .timedOut(seconds: 0.4) && second.error == .timedOut(seconds: 1.0))
                #expect(first.after >= .milliseconds(400) && first.after < second.after, "\(first) \(second)")
                #expect(second.after >= .seconds(1), "\(second)")
                let answer = try await patient
                #expect(answer["content"] != nil, "\(answer)")
            }
        }
    }

    private static func endOfCall(
        _ server: UpstreamServer, timeout: Double, since started: ContinuousClock.Instant
    ) async -> (error: MCPClientError?, after: Duration) {
        do {
            _ = try await server.callTool(name: "slow", arguments: ["seconds": 60], timeout: timeout)
            return (nil, ContinuousClock.now - started)
        } catch {
            return (error, ContinuousClock.now - started)
        }
    }

    @Test("a CallCancellation ends its call at once and cancels it upstream; fired before, nothing is sent")
    func callCancellation() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/mcp")) { server in
                try await server.start()
                let cancellation = CallCancellation()
                // Cancelled once the call has reached the server (a minute of work it then never finishes).
                let canceller = Task {
                    _ = await pollUntil(within: .seconds(120)) {
                        let log = (try? await peer.requestLog()) ?? []
                        return log.contains { ($0["body"] as? [String: Any])?["method"] as? String == "tools/call" }
                    }
                    cancellation.cancel()
                }
                await #expect(throws: MCPClientError.cancelled) {
                    _ = try await server.callTool(
                        name: "slow", arguments: ["seconds": 60], timeout: 600, cancellation: cancellation)
                }
                await canceller.value
                func toolCalls() async -> Int {
                    let log = (try? await peer.requestLog()) ?? []
                    return log.filter { ($0["body"] as? [String: Any])?["method"] as? String == "tools/call" }.count
                }
                let noticed = await pollUntil(within: .seconds(90)) {
                    let log = (try? await peer.requestLog()) ?? []
                    return log.contains {
                        ($0["body"] as? [String: Any])?["method"] as? String == "notifications/cancelled"
                    }
                }
                #expect(noticed)
                let sent = await toolCalls()
                await #expect(throws: MCPClientError.cancelled) {
                    _ = try await server.callTool(
                        name: "echo", arguments: ["text": "late"], timeout: 30, cancellation: cancellation)
                }
                let echo = try await server.callTool(name: "echo", arguments: ["text": "fine"], timeout: 30)
                #expect(echo["content"]?[0]?["text"] == "fine")
                #expect(await toolCalls() == sent + 1, "a call whose cancellation had fired was sent")
            }
        }
    }

    @Test(
        "JSON answers, redirects and a relative legacy endpoint",
        arguments: [
            ("streamable", "/mcp-json"), ("streamable", "/redirect"), ("sse", "/legacy/sse"),
        ])
    func variants(kind: String, path: String) async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, path, sse: kind == "sse", headers: [(name: "X-Custom", value: "v")]))
            { server in
                try await server.start()
                let echo = try await server.callTool(
                    name: "echo", arguments: ["text": .string("via \(path)")], timeout: 30)
                #expect(echo["content"]?[0]?["text"] == .string("via \(path)"))
                let headers = try await server.callTool(name: "headers", arguments: [:], timeout: 30)
                #expect(headers["content"]?[0]?["text"]?.stringValue?.contains("\"x-custom\": \"v\"") == true)
            }
        }
    }

    @Test(
        "plain http POSTs reuse a keep-alive connection (SSE answers too); one the server closes is replaced",
        arguments: ["/mcp-json", "/mcp", "/mcp-json-close", "/mcp-json-hangup"])
    func keepAlive(path: String) async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, path)) { server in
                try await server.start()
                let pool = UpstreamHTTPClient.sharedKeepAlive
                func poolEmpty() async -> Bool {
                    await pollUntil(within: .seconds(90)) {
                        pool.idleConnectionCount(host: "127.0.0.1", port: peer.port) == 0
                    }
                }
                for index in 0..<5 {
                    // A close the server does not announce is known once it arrives; a POST that met it on the
                    // way out is not sent again on a guess (it may have been received). So each call waits until
                    // the pool has let go of the connection the server closed after the answer before it.
                    if path == "/mcp-json-hangup" { #expect(await poolEmpty()) }
                    let echo = try await server.callTool(
                        name: "echo", arguments: ["text": .string("\(index)")], timeout: 30)
                    #expect(echo["content"]?[0]?["text"] == .string("\(index)"))
                }
                func callPorts() async throws -> [Int] {
                    try await peer.requestLog().filter {
                        ($0["body"] as? [String: Any])?["method"] as? String == "tools/call"
                    }.compactMap { $0["peer"] as? Int }
                }
                let ports = try await callPorts()
                #expect(ports.count == 5)
                switch path {
                case "/mcp-json": #expect(Set(ports).count == 1, "\(ports)")
                // A call may start while the last answer's stream is still ending: a second connection, no more.
                case "/mcp": #expect(Set(ports).count <= 2, "\(ports)")
                default: #expect(Set(ports).count == 5, "\(ports)")
                }
                // An idle connection closes by itself (before the server's keep-alive ends it); the next call opens
                // another. (Reuse within the idle time, and the time itself: KeepAliveExchangeHandlerTests.)
                guard path == "/mcp-json" else { return }
                #expect(await poolEmpty())
                _ = try await server.callTool(name: "echo", arguments: ["text": "later"], timeout: 30)
                let later = try await callPorts()
                #expect(later.count == 6 && !ports.contains(later[5]), "\(later)")
            }
        }
    }

    @Test(
        "legacy SSE messages to plain http go over the keep-alive pool, whose reuse window a busy loop cannot stretch")
    func legacyPostsKeepAlive() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/legacy/sse", sse: true)) { server in
                try await server.start()
                let pool = UpstreamHTTPClient.sharedKeepAlive
                // The POST's connection is back in the pool once its 202 arrived, before the answer comes on the
                // stream; each call gives the check another chance, should a slow machine let the idle timer run
                // between the two.
                var pooled = false
                for index in 0..<5 where !pooled {
                    let echo = try await server.callTool(
                        name: "echo", arguments: ["text": .string("\(index)")], timeout: 30)
                    #expect(echo["content"]?[0]?["text"] == .string("\(index)"))
                    pooled = pool.idleConnectionCount(host: "127.0.0.1", port: peer.port) > 0
                }
                #expect(pooled, "no POST connection to the SSE server in the keep-alive pool")
            }
        }
    }

    @Test("a legacy endpoint on another origin is refused (static headers must not follow it)")
    func foreignEndpoint() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, "/foreign/sse", sse: true)) { server in
                let error = await failure { () async throws(MCPClientError) in _ = try await server.start() }
                #expect(error?.description.contains("192.0.2.1") == true, "\(String(describing: error))")
                #expect(error?.description.contains("origin") == true, "\(String(describing: error))")
            }
        }
    }

    @Test("an endpoint that is not an MCP server fails fast, naming the URL", arguments: ["/html", "/nothing"])
    func notMCP(path: String) async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            try await withServer(makeServer(peer, path)) { server in
                // It fails on what the endpoint answers, not on the startup bound (300 s).
                let started = ContinuousClock.now
                let error = await failure { () async throws(MCPClientError) in _ = try await server.start() }
                #expect(error?.description.contains(peer.url(path)) == true, "\(String(describing: error))")
                #expect(error?.description.contains("not an MCP") == true, "\(String(describing: error))")
                #expect(ContinuousClock.now - started < .seconds(150))
            }
        }
    }

    @Test("an unreachable server fails fast as unavailable, naming the URL")
    func unreachable() async throws {
        let port = try FixturePorts.reserve()
        let url = "http://127.0.0.1:\(port)/mcp"
        let server = UpstreamServer(
            entry: ServerEntry(name: "gone", transport: .streamableHTTP(RemoteEndpoint(url: url))),
            client: ClientIdentity(name: "t", version: "0"), startupTimeout: 300, logger: Logger(label: "test"))
        let started = ContinuousClock.now
        do {
            try await server.start()
            Issue.record("connected to nothing")
        } catch {
            guard case .unavailable(let reason) = error else {
                Issue.record("expected unavailable, got \(error)")
                return
            }
            #expect(reason.contains(url), "\(reason)")
            #expect(reason.contains("refused"), "\(reason)")
        }
        // Far below the 300 s bound: the refusal is reported, not waited out (even on a loaded machine).
        #expect(ContinuousClock.now - started < .seconds(120))
        await server.shutdown()
    }

    private func makeServer(
        _ peer: PythonPeer, _ path: String, sse: Bool = false, headers: [(name: String, value: String)] = []
    ) -> UpstreamServer {
        let endpoint = RemoteEndpoint(url: peer.url(path), headers: headers)
        return UpstreamServer(
            entry: ServerEntry(name: "behaviors", transport: sse ? .sse(endpoint) : .streamableHTTP(endpoint)),
            client: ClientIdentity(name: "swift-mcpo-tests", version: "0"), startupTimeout: 300,
            logger: Logger(label: "test"))
    }
}
