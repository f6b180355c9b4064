import Foundation
import JSONValue
import Synchronization
import TestSupport
import Testing

/// `mcpo --server-type sse|streamable-http -- <url>` against the official Python SDK servers (both
/// lines) and the standard-library behaviours fixture, through the real binary.
@Suite("remote MCP servers")
struct RemoteTransportTests {
    struct Case: Sendable, CustomStringConvertible {
        var line: PythonLine
        /// What the fixture serves.
        var transport: String
        /// What mcpo is told (mcpo's spellings and aliases).
        var serverType: String

        var path: String { transport == "sse" ? "/sse" : "/mcp" }
        var description: String { "\(line.rawValue) \(transport) as --server-type \(serverType)" }
    }

    static let cases: [Case] = PythonLine.allCases.flatMap { line in
        [
            Case(line: line, transport: "sse", serverType: "sse"),
            Case(line: line, transport: "streamable-http", serverType: "streamable-http"),
            Case(line: line, transport: "streamable-http", serverType: "streamable_http"),
            Case(line: line, transport: "streamable-http", serverType: "streamablehttp"),
        ]
    }

    @Test("serves the tools of a remote server", arguments: cases)
    func serves(server: Case) async throws {
        let peer = try RemotePeer.sdk(server.line, transport: server.transport)
        try await withRemotePeer(peer) { peer in
            try await withProxy(["--server-type", server.serverType, "--", peer.url(server.path)]) { proxy in
                #expect(await pollUntil { (try? await TestHTTP.post(proxy, "/echo", ["text": "hi"]))?.status == 200 })
                let echo = try await TestHTTP.post(proxy, "/echo", ["text": "remote"])
                #expect(echo.status == 200, "\(echo.text)")
                #expect(echo.json == "remote")
                let order = try await TestHTTP.post(
                    proxy, "/create_order",
                    [
                        "customer": "ada", "priority": "high", "items": [["sku": "A1", "qty": 2]],
                        "address": ["street": "1 Main", "city": "Paris"],
                    ])
                #expect(order.status == 200, "\(order.text)")
                let document = try await TestHTTP.get(proxy, "/openapi.json")
                #expect(document.json?["paths"]?["/echo"] != nil)
                let ready = try await TestHTTP.get(proxy, "/readyz")
                #expect(ready.status == 200, "\(ready.text)")
                let expected =
                    server.line == .mcp2 && server.transport == "streamable-http" ? "2026-07-28" : "2025-11-25"
                #expect(ready.text.contains(expected), "\(ready.text)")
            }
        }
    }

    @Test("--header goes with every upstream request")
    func staticHeaders() async throws {
        try await withRemotePeer(try RemotePeer.behaviors()) { peer in
            let headers = #"{"Authorization": "Bearer upstream-token", "X-Custom": "v"}"#
            try await withProxy(["--server-type", "streamable-http", "--header", headers, "--", peer.url("/mcp")]) {
                proxy in
                #expect(await pollUntil { (try? await TestHTTP.post(proxy, "/headers"))?.status == 200 })
                let reply = try await TestHTTP.post(proxy, "/headers", headers: [("Authorization", "Bearer caller")])
                #expect(reply.status == 200, "\(reply.text)")
                let seen = try #require(reply.json?.stringValue.flatMap { try? JSON.parse($0) } ?? reply.json)
                #expect(seen["authorization"] == "Bearer upstream-token", "\(reply.text)")
                #expect(seen["x-custom"] == "v", "\(reply.text)")
            }
        }
    }

    @Test("an upstream that is down at startup: the proxy serves fast 503s, then the tools once it is up")
    func downAtStartup() async throws {
        let peer = try RemotePeer.sdk(.mcp1, transport: "streamable-http")
        try await withRemotePeer(peer, started: false) { peer in
            try await withProxy([
                "--startup-timeout", "600", "--server-type", "streamable-http", "--", peer.url("/mcp"),
            ]) {
                proxy in
                let started = ContinuousClock.now
                let down = try await TestHTTP.post(proxy, "/echo", ["text": "x"])
                #expect(down.status == 503, "\(down.text)")
                #expect(down.header("content-type") == "application/json")
                // A hang would last the 600 s startup bound; a 503 comes at once, even on a loaded machine.
                #expect(ContinuousClock.now - started < .seconds(150))
                try await peer.launch()
                let up = await pollUntil(within: .seconds(60)) {
                    (try? await TestHTTP.post(proxy, "/echo", ["text": "up"]))?.status == 200
                }
                #expect(up, "\(proxy.logText)")
            }
        }
    }

    @Test(
        "killed mid-call: that call gets 502, later calls 503, and 200 again once it is back",
        arguments: [
            Case(line: .mcp1, transport: "streamable-http", serverType: "streamable-http"),
            Case(line: .mcp2, transport: "streamable-http", serverType: "streamable-http"),
            Case(line: .mcp1, transport: "sse", serverType: "sse"),
            Case(line: .mcp2, transport: "sse", serverType: "sse"),
        ])
    func killAndRestart(server: Case) async throws {
        let peer = try RemotePeer.sdk(server.line, transport: server.transport)
        try await withRemotePeer(peer) { peer in
            try await withProxy(["--server-type", server.serverType, "--", peer.url(server.path)]) { proxy in
                #expect(await pollUntil { (try? await TestHTTP.post(proxy, "/echo", ["text": "x"]))?.status == 200 })
                let marker = FileManager.default.temporaryDirectory
                    .appendingPathComponent("in-flight-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: marker) }
                let slow = Task {
                    try await TestHTTP.post(proxy, "/marked_wait", ["seconds": 30, "marker": .string(marker)])
                }
                // Set when the call ends: one that ends before its marker appears never reached the tool, and says
                // why at once instead of leaving the test to wait for a marker that will not come.
                let ended = Mutex<String?>(nil)
                Task {
                    let outcome = await slow.result
                    ended.withLock { $0 = "\(outcome.map { "\($0.status) \($0.text)" })" }
                }
                // Killed only once the call has reached the server, however slow the machine is.
                _ = await pollUntil(within: .seconds(60)) {
                    FileManager.default.fileExists(atPath: marker) || ended.withLock { $0 != nil }
                }
                guard FileManager.default.fileExists(atPath: marker) else {
                    slow.cancel()
                    let outcome = ended.withLock { $0 }.map { "it ended with \($0)" } ?? "not there in 60 s"
                    Issue.record("the call never reached the tool: \(outcome); \(proxy.logText)")
                    return
                }
                await peer.stop()
                let inFlight = try await slow.value
                #expect(inFlight.status == 502, "\(inFlight.text)")
                let refused = await pollUntil(within: .seconds(90)) {
                    let reply = try? await TestHTTP.post(proxy, "/echo", ["text": "x"], timeout: .seconds(10))
                    return reply?.status == 503 && reply?.header("content-type") == "application/json"
                }
                #expect(refused, "\(proxy.logText)")
                try await peer.launch()
                let back = await pollUntil(within: .seconds(60)) {
                    (try? await TestHTTP.post(proxy, "/echo", ["text": "back"]))?.status == 200
                }
                #expect(back, "\(proxy.logText)")
            }
        }
    }

    @Test("per-call timeout: 504, and the server keeps serving")
    func callTimeout() async throws {
        let peer = try RemotePeer.sdk(.mcp2, transport: "streamable-http")
        try await withRemotePeer(peer) { peer in
            try await withProxy(["--server-type", "streamable-http", "--timeout", "1", "--", peer.url("/mcp")]) {
                proxy in
                #expect(await pollUntil { (try? await TestHTTP.post(proxy, "/echo", ["text": "x"]))?.status == 200 })
                let slow = try await TestHTTP.post(proxy, "/slow", ["seconds": 10])
                #expect(slow.status == 504, "\(slow.text)")
                let echo = try await TestHTTP.post(proxy, "/echo", ["text": "after"])
                #expect(echo.status == 200)
            }
        }
    }

    @Test("https upstreams: verified against the trust store, or SSL_CERT_FILE")
    func tls() async throws {
        let certificate = try await SelfSignedCertificate.make()
        defer { certificate.remove() }
        try await withRemotePeer(try RemotePeer.behaviors(tls: certificate)) { peer in
            let arguments = ["--server-type", "streamable-http", "--", peer.url("/mcp")]
            // Not trusted: a clear 503 naming the URL and TLS, never a hang.
            try await withProxy(arguments) { proxy in
                let refused = await pollUntil(within: .seconds(90)) {
                    let reply = try? await TestHTTP.post(proxy, "/echo", ["text": "x"], timeout: .seconds(10))
                    return reply?.status == 503 && reply?.text.contains("TLS") == true
                }
                #expect(refused, "\(proxy.logText)")
                #expect(proxy.logText.contains(peer.url("/mcp")))
            }
            // Trusted through SSL_CERT_FILE, as with Python mcpo.
            try await withProxy(arguments, environment: ["SSL_CERT_FILE": certificate.certificate]) { proxy in
                let served = await pollUntil(within: .seconds(90)) {
                    (try? await TestHTTP.post(proxy, "/echo", ["text": "over tls"]))?.status == 200
                }
                #expect(served, "\(proxy.logText)")
                let echo = try await TestHTTP.post(proxy, "/echo", ["text": "over tls"])
                #expect(echo.json == "over tls")
            }
        }
    }

    @Test("an endpoint that is not an MCP server: 503 naming the URL, never a hang")
    func notAnMCPServer() async throws {
        try await withRemotePeer(try RemotePeer.behaviors()) { peer in
            try await withProxy(["--server-type", "streamable-http", "--", peer.url("/html")]) { proxy in
                let named = await pollUntil(within: .seconds(90)) {
                    let reply = try? await TestHTTP.post(proxy, "/echo", ["text": "x"], timeout: .seconds(10))
                    return reply?.status == 503 && reply?.text.contains("not an MCP") == true
                }
                #expect(named, "\(proxy.logText)")
                #expect(proxy.logText.contains(peer.url("/html")))
            }
        }
    }
}
