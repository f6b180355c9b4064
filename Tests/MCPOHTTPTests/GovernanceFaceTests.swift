import Foundation
import JSONValue
import Logging
import MCPClient
import MCPOAudit
import MCPOConfig
import MCPOIdentity
import NIOHTTP1
import Synchronization
import TestSupport
import Testing

@testable import MCPOHTTP

/// A moved clock for the rate limiter.
final class TestClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = Mutex(Duration.zero)
    var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
    func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
}

/// An audit store in a fresh folder, with its writer, for one test.
struct AuditHarness {
    let folder: String
    let store: SQLiteStore
    let writer: AuditWriter

    static func make(outputChars: Int = 200, required: Bool = false) async throws -> AuditHarness {
        let folder = NSTemporaryDirectory() + "mcpo-face-audit-" + UUID().uuidString
        var logger = Logger(label: "face-audit")
        logger.logLevel = .critical
        let store = try await SQLiteStore.open(path: folder + "/audit.db", logger: logger)
        let writer = AuditWriter(
            store: store,
            settings: AuditSettings(
                store: .sqlite(path: folder + "/audit.db"), outputChars: outputChars, required: required),
            logger: logger)
        writer.start()
        return AuditHarness(folder: folder, store: store, writer: writer)
    }

    /// Every record written so far (after the writer has written what it holds), newest first.
    func records() async throws -> [AuditRecord] {
        await writer.flush()
        return try await store.records(matching: AuditQuery(limit: 1000)).records
    }

    func close() async {
        await writer.shutdown()
        await store.close()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

@Suite("accountability, in process")
struct GovernanceFaceTests {
    static let tools: [JSON] = [
        TestTools.echo,
        [
            "name": "save",
            "inputSchema": [
                "type": "object", "properties": ["settings": ["type": "object"], "name": ["type": "string"]],
            ],
        ],
        [
            "name": "drop_table", "annotations": ["destructiveHint": true],
            "inputSchema": ["type": "object", "properties": ["table": ["type": "string"]]],
        ],
        [
            "name": "reset", "annotations": ["destructiveHint": true],
            "inputSchema": ["type": "object", "properties": ["confirm": ["type": "string"]]],
        ],
    ]

    static func upstream(_ governance: ServerGovernance = ServerGovernance()) -> TestUpstream {
        var access = ServerAccess()
        access.toolScopes = []
        let upstream = TestUpstream(tools: tools, access: access) { request in
            request.name == "echo"
                ? TestTools.text(request.arguments["text"]?.stringValue ?? "") : TestTools.text("done")
        }
        upstream.governance = governance
        return upstream
    }

    static func services(_ harness: AuditHarness?, clock: TestClock = TestClock()) -> GovernanceServices {
        let services = GovernanceServices(
            metrics: ProxyMetrics(), limiter: RateLimiter(now: { clock.now }), replica: "face")
        services.use(auditWriter: harness?.writer)
        return services
    }

    @Test("every call gets a request id (the caller's sane one is kept) and one record with its outcome and hash")
    func records() async throws {
        let harness = try await AuditHarness.make(outputChars: 12)
        let upstream = Self.upstream()
        let face = Face(upstream: upstream, configure: { $0.apiKeys = ["k"] }, services: Self.services(harness))
        let bearer = [("Authorization", "Bearer k")]
        let first = await face.post("/echo", ["text": "hello there, auditor", "x": ["b": 2, "a": 1]], headers: bearer)
        #expect(first.status == 200)
        let id = try #require(first.header("x-request-id"))
        let kept = await face.post("/echo", ["text": "b"], headers: bearer + [("X-Request-Id", "trace-me.1:ok")])
        #expect(kept.header("x-request-id") == "trace-me.1:ok")
        let replaced = await face.post(
            "/echo", ["text": "c"], headers: bearer + [("X-Request-Id", "no spaces allowed")])
        #expect(replaced.header("x-request-id") != "no spaces allowed")
        let refused = await face.post("/echo", ["text": "d"])
        #expect(refused.status == 401)
        #expect(refused.header("x-request-id") != nil)
        let invalid = await face.post("/echo", ["text": 5], headers: bearer)
        #expect(invalid.status == 422)

        let records = try await harness.records().filter { $0.tool == "echo" }
        #expect(records.count == 5)
        let ok = try #require(records.first { $0.id == id })
        #expect(ok.caller == "cli")
        #expect(ok.server == "test")
        #expect(ok.tool == "echo")
        #expect(ok.status == 200)
        #expect(ok.outcome == .ok)
        #expect(ok.output == #""hello there"#, "the first 12 characters of the answer body")
        #expect(ok.risk == "medium")
        #expect(ok.replica == "face")
        #expect(upstream.received.first?.arguments.text == #"{"text":"hello there, auditor"}"#)
        #expect(
            ok.argsSha256 == Digest.sha256Hex(#"{"text":"hello there, auditor"}"#.utf8),
            "of the arguments sent upstream (the property the schema does not know is not sent)")
        let saved = await face.post(
            "/save", ["settings": ["b": 2, "a": ["é": 1, "Z": 2]], "name": "x"], headers: bearer)
        let savedRecord = try #require(try await harness.records().first { $0.id == saved.header("x-request-id") })
        #expect(
            savedRecord.argsSha256 == Digest.sha256Hex(#"{"name":"x","settings":{"a":{"Z":2,"é":1},"b":2}}"#.utf8),
            "canonical JSON: keys sorted by code point at every depth, no white space")
        #expect(records.first { $0.status == 401 }?.outcome == .unauthenticated)
        #expect(records.first { $0.status == 401 }?.caller == "anonymous")
        #expect(records.first { $0.status == 422 }?.outcome == .invalidArguments)
        #expect(records.first { $0.id == "trace-me.1:ok" } != nil)
        await harness.close()
    }

    @Test(
        "what upstream failures are recorded as: protocol_error, tool_error, timeout, unavailable, disconnected, denied"
    )
    func upstreamOutcomes() async throws {
        let harness = try await AuditHarness.make()
        let failures: [(String, MCPClientError?, AuditOutcome)] = [
            ("rpc", .rpc(code: -32603, message: "internal", data: nil), .protocolError),
            ("violation", .protocolViolation("garbage"), .protocolError),
            ("slow", .timedOut(seconds: 1), .timeout),
            ("down", .unavailable(reason: "stopped"), .unavailable),
            ("gone", .disconnected(reason: "EOF"), .disconnected),
            ("refused", .forbidden(reason: "no"), .denied),
            ("failing", nil, .toolError),
        ]
        let tools: [JSON] = failures.map { ["name": .string($0.0), "inputSchema": ["type": "object"]] }
        let upstream = TestUpstream(tools: tools) { request throws(MCPClientError) in
            if let error = failures.first(where: { $0.0 == request.name })?.1 { throw error }
            return ["content": [["type": "text", "text": "bad"]], "isError": true]
        }
        let face = Face(upstream: upstream, services: Self.services(harness))
        for (tool, _, _) in failures { _ = await face.post("/\(tool)", [:]) }
        let records = try await harness.records()
        for (tool, _, outcome) in failures {
            #expect(records.first { $0.tool == tool }?.outcome == outcome, "\(tool)")
        }
        #expect(records.first { $0.tool == "gone" }?.error?.contains("disconnected") == true)
        await harness.close()
    }

    @Test("confirm: 428 without \"confirm\": true, the field never reaches the server; mcpo_confirm for a tool's own")
    func confirmation() async throws {
        let upstream = Self.upstream(ServerGovernance(confirm: .high))
        let face = Face(upstream: upstream, services: Self.services(nil))
        let refused = await face.post("/drop_table", ["table": "users"])
        #expect(refused.status == 428)
        #expect(
            refused.json
                == [
                    "detail": #"drop_table is a high-risk tool: repeat the call with "confirm": true to run it."#,
                    "risk": "high",
                ])
        #expect(await face.post("/drop_table", ["table": "users", "confirm": false]).status == 428)
        #expect(await face.post("/drop_table", ["table": "users", "confirm": true]).status == 200)
        #expect(upstream.received.map(\.name) == ["drop_table"])
        #expect(upstream.received.last?.arguments == ["table": "users"], "the proxy's field is taken out")
        #expect(await face.post("/echo", ["text": "a"]).status == 200, "a medium-risk tool needs none")

        let own = await face.post("/reset", ["confirm": "yes", "mcpo_confirm": true])
        #expect(own.status == 200)
        #expect(upstream.received.last?.arguments == ["confirm": "yes"])
        #expect(
            await face.post("/reset", ["confirm": "yes"]).json?["detail"]?.stringValue?.contains("mcpo_confirm") == true
        )
    }

    @Test("rate limits: per caller per server and per tool, 429 with Retry-After; buckets refill with time")
    func rateLimits() async throws {
        let clock = TestClock()
        let governance = ServerGovernance(
            perCallerLimit: RateLimit.parse("3/minute"), toolLimits: ["drop_table": RateLimit.parse("1/minute")!])
        let upstream = Self.upstream(governance)
        let face = Face(
            upstream: upstream, configure: { $0.apiKeys = ["k1"] }, services: Self.services(nil, clock: clock))
        func call(_ tool: String, _ key: String = "k1") async -> ReceivedAnswer {
            await face.post(
                "/\(tool)", tool == "echo" ? ["text": "x"] : [:], headers: [("Authorization", "Bearer \(key)")])
        }
        #expect(await call("drop_table").status == 200)
        let perTool = await call("drop_table")
        #expect(perTool.status == 429)
        #expect(perTool.header("retry-after") == "60")
        #expect(perTool.json?["detail"] == "Rate limit of 1/minute for test/drop_table reached; retry in 60 s")
        #expect(await call("echo").status == 200)
        #expect(await call("echo").status == 200)
        let perServer = await call("echo")
        #expect(perServer.status == 429)
        #expect(perServer.json?["detail"] == "Rate limit of 3/minute for test reached; retry in 20 s")
        clock.advance(.seconds(20))
        #expect(await call("echo").status == 200, "one token back after a third of a minute")
        #expect(upstream.received.count == 4)
    }

    @Test("/metrics: calls by outcome, durations, statuses, servers, the process; public without credentials")
    func metrics() async throws {
        let face = Face(upstream: Self.upstream(ServerGovernance(confirm: .high)), services: Self.services(nil))
        _ = await face.post("/echo", ["text": "a"])
        _ = await face.post("/echo", ["text": "b"])
        _ = await face.post("/drop_table", [:])
        _ = await face.post("/nope", [:])
        let scraped = await face.request(.GET, "/metrics")
        #expect(scraped.status == 200)
        #expect(scraped.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        let samples = PrometheusText.samples(scraped.body)
        #expect(samples[#"mcpo_tool_calls_total{server="test",tool="echo",outcome="ok"}"#] == 2)
        #expect(
            samples[#"mcpo_tool_calls_total{server="test",tool="drop_table",outcome="confirmation_required"}"#] == 1)
        #expect(samples[#"mcpo_tool_call_duration_seconds_count{server="test",tool="echo"}"#] == 2)
        #expect(samples[#"mcpo_http_requests_total{code="200"}"#] == 2)
        #expect(samples[#"mcpo_http_requests_total{code="428"}"#] == 1)
        #expect(samples[#"mcpo_http_requests_total{code="404"}"#] == 1)
        #expect(samples[#"mcpo_upstream_up{server="test"}"#] == 1)
        #expect(samples[#"mcpo_calls_in_flight{server="test"}"#] == 0)
        #expect((samples["process_resident_memory_bytes"] ?? 0) > 1_000_000)
        #expect((samples["process_open_fds"] ?? 0) > 0)
        #expect(!scraped.body.contains("nope"), "an unknown route makes no series")
    }

    @Test("/metrics, /audit, /pins need their scopes when credentials are configured; the log is never open")
    func routeScopes() async throws {
        let harness = try await AuditHarness.make()
        let keys = [
            NamedAPIKey(name: "reader", secret: .plain("r"), scopes: ["echo:*"]),
            NamedAPIKey(name: "auditor", secret: .plain("a"), scopes: ["mcpo:audit", "mcpo:metrics"]),
        ]
        let face = Face(
            upstream: Self.upstream(), configure: { $0.auth = AuthConfig(apiKeys: keys) },
            services: Self.services(harness))
        #expect(await face.request(.GET, "/metrics").status == 401)
        let denied = await face.request(.GET, "/metrics", headers: [("Authorization", "Bearer r")])
        #expect(denied.status == 403)
        #expect(denied.json?["required_scopes"] == ["mcpo:metrics"])
        #expect(await face.request(.GET, "/metrics", headers: [("Authorization", "Bearer a")]).status == 200)
        _ = await face.post("/echo", ["text": "x"], headers: [("Authorization", "Bearer r")])
        _ = try await harness.records()
        let log = await face.request(.GET, "/audit?tool=echo", headers: [("Authorization", "Bearer a")])
        #expect(log.status == 200)
        #expect(log.json?["records"]?.arrayValue?.count == 1)
        #expect(log.json?["records"]?[0]?["caller"] == "reader")
        #expect(await face.request(.GET, "/audit", headers: [("Authorization", "Bearer r")]).status == 403)
        #expect(
            await face.request(.GET, "/audit/stats", headers: [("Authorization", "Bearer a")]).json?["totalCalls"] == 1)
        let bad = await face.request(.GET, "/audit?limit=5000", headers: [("Authorization", "Bearer a")])
        #expect(bad.status == 400)
        #expect(bad.json?["detail"] == "limit must be a whole number from 1 to 1000")
        #expect(
            await face.request(.GET, "/audit?since=yesterday", headers: [("Authorization", "Bearer a")]).status == 400)
        await face.shutdown()
        await harness.close()

        let open = Face(upstream: Self.upstream(), services: Self.services(nil))
        #expect(await open.request(.GET, "/audit").status == 404, "an open proxy never publishes its log")
        #expect(await open.request(.GET, "/metrics").status == 200)
    }

    @Test("audit.required: while the log cannot be written calls are refused with 503 and never run")
    func required() async throws {
        let store = FlakyStore()
        var logger = Logger(label: "face")
        logger.logLevel = .critical
        let writer = AuditWriter(
            store: store, settings: AuditSettings(store: .sqlite(path: "/unused"), required: true), logger: logger)
        writer.start()
        let services = GovernanceServices(metrics: nil, replica: "face")
        services.use(auditWriter: writer)
        let upstream = Self.upstream()
        let face = Face(upstream: upstream, services: services)
        store.setFailing(true)
        #expect(await face.post("/echo", ["text": "runs, unrecorded"]).status == 200)
        let refused = await face.post("/echo", ["text": "refused"])
        #expect(refused.status == 503)
        #expect(refused.json?["detail"]?.stringValue?.contains("audit.required") == true)
        #expect(upstream.received.count == 1)
        store.setFailing(false)
        #expect(await face.post("/echo", ["text": "refused, but its record is written"]).status == 503)
        #expect(await face.post("/echo", ["text": "runs again"]).status == 200)
        #expect(upstream.received.count == 2)
        await writer.shutdown()
    }
}
