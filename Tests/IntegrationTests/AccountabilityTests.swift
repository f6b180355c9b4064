import Foundation
import JSONValue
import Logging
import MCPOAudit
import TestSupport
import Testing

/// The audit log, risk and confirmation, pins, rate limits, metrics, JSON logs and trace context, through the real
/// binary, real MCP servers and a real SQLite file (read back with `mcpo audit`).
@Suite("accountability end to end")
struct AccountabilityTests {
    final class Folder: Sendable {
        let path: String

        init() throws {
            path = NSTemporaryDirectory() + "mcpo-accountability-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        var database: String { path + "/audit.db" }
        var config: String { path + "/mcp.json" }

        func write(_ text: String) throws {
            let temporary = config + ".tmp"
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, config) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }

        /// Makes the store's path unusable (a folder where the file was), as a disk or a colleague might.
        func breakStore() throws {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
            try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: false)
        }

        func repairStore() throws {
            try FileManager.default.removeItem(atPath: database)
        }
    }

    static func fastEntry(_ extra: String = "", drift: String = "v1") -> String {
        let server = PythonLine.mcp1.fastMCPServer
        return
            #"{"command": "\#(server[0])", "args": ["\#(server[1])"], "env": {"FIXTURE_DRIFT": "\#(drift)"}\#(extra)}"#
    }

    static let exampleEntry = #"{"command": "\#(TestPaths.exampleServer)""#

    /// The records `mcpo audit --json` prints for the store, newest first.
    static func cli(_ arguments: [String]) async throws -> CommandOutcome {
        try await ProcessRunner.run(TestPaths.mcpo, arguments)
    }

    static func records(_ folder: Folder, _ filters: [String] = []) async throws -> [JSON] {
        let outcome = try await cli(["audit", "--store", folder.database, "--json"] + filters)
        #expect(outcome.status == 0, "\(outcome.output)")
        return outcome.output.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
    }

    static func bearer(_ key: String) -> [(String, String)] { [("Authorization", "Bearer " + key)] }

    @Test("one record per call, whatever its outcome, with its id, caller, canonical hash, status, output and risk")
    func outcomes() async throws {
        let folder = try Folder()
        let marker = folder.path + "/held"
        try folder.write(
            """
            {
              "audit": {"store": "sqlite://\(folder.database)", "outputChars": 20},
              "auth": {"apiKeys": [{"name": "ops", "key": "ops-key", "scopes": ["*"]},
                                   {"name": "reader", "key": "reader-key", "scopes": ["kitchen:read"]}]},
              "mcpServers": {
                "kitchen": \(Self.exampleEntry), "toolScopes": {"calculate": ["kitchen:write"], "*": ["kitchen:read"]},
                            "toolRisk": {"echo": "high"}, "confirm": "high",
                            "rateLimit": {"tools": {"word_stats": "1/minute"}}},
                "fast": \(Self.fastEntry(#", "timeout": 1, "toolTimeouts": {"held_until_released": 120}, "maxConcurrentCalls": 1"#))
              }
            }
            """)
        try await withProxy(["--config", folder.config, "--max-queued-calls", "0", "--startup-timeout", "120"]) {
            proxy in
            let ops = Self.bearer("ops-key")
            #expect(
                try await pollUntil(within: .seconds(120)) {
                    try await TestHTTP.get(proxy, "/readyz").json?["servers"]?["fast"]?["state"] == "connected"
                })
            var expected: [String: (status: Int, outcome: String)] = [:]
            func call(_ path: String, _ body: JSON, _ headers: [(String, String)]) async throws -> HTTPReply {
                let reply = try await TestHTTP.post(proxy, path, body, headers: headers)
                #expect(reply.header("x-request-id") != nil, "\(path): no X-Request-Id")
                return reply
            }
            let ok = try await call("/kitchen/calculate", ["b": 3, "operation": "add", "a": 2], ops)
            #expect(ok.status == 200)
            expected[ok.id] = (200, "ok")
            let toolError = try await call("/fast/explode", ["message": "boom"], ops)
            expected[toolError.id] = (toolError.status, "tool_error")
            let invalid = try await call("/kitchen/calculate", ["operation": "nope", "a": 1, "b": 2], ops)
            expected[invalid.id] = (422, "invalid_arguments")
            let anonymous = try await call("/kitchen/echo", ["text": "x"], [])
            expected[anonymous.id] = (401, "unauthenticated")
            let denied = try await call(
                "/kitchen/calculate", ["operation": "add", "a": 1, "b": 2], Self.bearer("reader-key"))
            expected[denied.id] = (403, "denied")
            let unconfirmed = try await call("/kitchen/echo", ["text": "x"], ops)
            expected[unconfirmed.id] = (428, "confirmation_required")
            let first = try await call("/kitchen/word_stats", ["text": "a b"], ops)
            expected[first.id] = (first.status, "ok")
            let limited = try await call("/kitchen/word_stats", ["text": "a b"], ops)
            expected[limited.id] = (429, "rate_limited")
            let timedOut = try await call("/fast/slow", ["seconds": 30], ops)
            expected[timedOut.id] = (504, "timeout")
            // One call holds the server's only slot (until the test releases it) and nothing may queue: the next is
            // refused as unavailable.
            let release = folder.path + "/release"
            let held = Task {
                try await TestHTTP.post(
                    proxy, "/fast/held_until_released", ["marker": .string(marker), "release": .string(release)],
                    headers: ops)
            }
            #expect(await pollUntil { FileManager.default.fileExists(atPath: marker) })
            let overloaded = try await call("/fast/echo", ["text": "x"], ops)
            expected[overloaded.id] = (503, "unavailable")
            FileManager.default.createFile(atPath: release, contents: Data())
            let heldReply = try await held.value
            expected[try #require(heldReply.header("x-request-id"))] = (200, "ok")
            let crashed = try await call("/fast/crash", [:], ops)
            expected[crashed.id] = (502, "disconnected")

            // The records, through the route: every call there, newest first, pages without gaps.
            var seen: [JSON] = []
            var path = "/audit?limit=4"
            for _ in 0..<10 {
                let page = try await TestHTTP.get(proxy, path, headers: ops)
                #expect(page.status == 200, "\(page.text)")
                seen += page.json?["records"]?.arrayValue ?? []
                guard let next = page.json?["next"]?.stringValue else { break }
                path = "/audit?limit=4&cursor=" + next
            }
            if seen.count < expected.count {
                // Written off the call path: give the writer the time it takes.
                #expect(
                    try await pollUntil {
                        (try await TestHTTP.get(proxy, "/audit?limit=1000", headers: ops).json?["records"]?.arrayValue?
                            .count
                            ?? 0) >= expected.count
                    })
                seen =
                    try await TestHTTP.get(proxy, "/audit?limit=1000", headers: ops).json?["records"]?.arrayValue ?? []
            }
            #expect(seen.count == expected.count)
            for (id, want) in expected {
                let record = try #require(seen.first { $0["id"]?.stringValue == id }, "no record of \(id)")
                #expect(record["status"]?.intValue == want.status, "\(record)")
                #expect(record["outcome"]?.stringValue == want.outcome, "\(record)")
                #expect(record["replica"]?.stringValue?.isEmpty == false)
                #expect(record["time"]?.stringValue?.hasSuffix("Z") == true)
            }
            let okRecord = try #require(seen.first { $0["id"]?.stringValue == ok.id })
            #expect(okRecord["caller"] == "ops")
            #expect(okRecord["server"] == "kitchen")
            #expect(okRecord["tool"] == "calculate")
            #expect(okRecord["risk"] == "low")
            #expect(okRecord["output"]?.stringValue == String(ok.text.prefix(20)))
            #expect(
                okRecord["argsSha256"]?.stringValue == Digest.sha256Hex(#"{"a":2,"b":3,"operation":"add"}"#.utf8))
            let unconfirmedRecord = try #require(seen.first { $0["id"]?.stringValue == unconfirmed.id })
            #expect(unconfirmedRecord["risk"] == "high")
            #expect(unconfirmedRecord["error"]?.stringValue == "echo is a high-risk ")
            #expect(seen.first { $0["id"]?.stringValue == anonymous.id }?["caller"] == "anonymous")
            #expect(seen.first { $0["id"]?.stringValue == denied.id }?["caller"] == "reader")
            for record in seen {
                #expect(!record.text.contains("ops-key") && !record.text.contains("reader-key"), "no key in a record")
            }

            let filtered = try await TestHTTP.get(proxy, "/audit?server=kitchen&tool=word_stats", headers: ops)
            #expect(filtered.json?["records"]?.arrayValue?.count == 2)
            let stats = try await TestHTTP.get(proxy, "/audit/stats?since=1h", headers: ops)
            #expect(stats.json?["totalCalls"]?.intValue == expected.count)
            let okCount = expected.values.filter { $0.outcome == "ok" }.count
            #expect(
                stats.json?["successRate"]?.doubleValue == Double(okCount) / Double(expected.count)
                    || abs((stats.json?["successRate"]?.doubleValue ?? 0) - Double(okCount) / Double(expected.count))
                        < 0.001
            )
            #expect(stats.json?["topTools"]?.arrayValue?.isEmpty == false)

            // The command line reads the same store, with the proxy running.
            let viaCLI = try await Self.records(folder, ["--outcome", "rate_limited"])
            #expect(viaCLI.map { $0["id"]?.stringValue } == [limited.id])
            let text = try await Self.cli(["audit", "--store", folder.database, "--tool", "calculate"])
            #expect(text.output.split(separator: "\n").count == 3, "\(text.output)")
        }
    }

    @Test("SIGTERM writes the records of the calls answered before it")
    func flushOnSIGTERM() async throws {
        let folder = try Folder()
        let proxy = try await ProxyProcess.start(
            ["--audit", "sqlite://" + folder.database, "--", TestPaths.exampleServer])
        for index in 0..<40 {
            #expect(try await TestHTTP.post(proxy, "/echo", ["text": .string("call \(index)")]).status == 200)
        }
        #expect(await proxy.stop() == 0)
        #expect(proxy.logText.contains("audit log: 40 records written, 0 lost"))
        #expect(try await Self.records(folder).count == 40)
    }

    @Test("a store made unusable mid-run: calls go on, records are held and written once it is back")
    func storeFailsAndComesBack() async throws {
        let folder = try Folder()
        try await withProxy(["--audit", "sqlite://" + folder.database, "--", TestPaths.exampleServer]) {
            (proxy: ProxyProcess) async throws in
            #expect(try await TestHTTP.post(proxy, "/echo", ["text": "before"]).status == 200)
            #expect(await pollUntil { (try? await Self.records(folder).count) == 1 })
            try folder.breakStore()
            #expect(try await TestHTTP.post(proxy, "/echo", ["text": "held"]).status == 200)
            #expect(await proxy.waitForLog("records held for the next attempt; calls go on"))
            let metrics = PrometheusText.samples(try await TestHTTP.get(proxy, "/metrics").text)
            #expect(metrics[#"mcpo_audit_records_total{result="failed"}"#] == 0, "nothing lost")
            try folder.repairStore()
            #expect(try await TestHTTP.post(proxy, "/echo", ["text": "after"]).status == 200)
            #expect(await proxy.waitForLog("is writable again"))
            #expect(
                await pollUntil {
                    (try? await Self.records(folder).map { $0["output"]?.stringValue ?? "" })
                        == [#""after""#, #""held""#]
                }, "a new file, with the held record and the one after")
        }
    }

    @Test("audit.required: a call whose record cannot be written gets 503 and does not run")
    func required() async throws {
        let folder = try Folder()
        try folder.write(
            """
            {"audit": {"store": "\(folder.database)", "required": true},
             "mcpServers": {"fast": \(Self.fastEntry())}}
            """)
        try await withProxy(["--config", folder.config, "--startup-timeout", "120"]) {
            (proxy: ProxyProcess) async throws in
            #expect(
                try await pollUntil(within: .seconds(120)) {
                    try await TestHTTP.post(proxy, "/fast/echo", ["text": "up"]).status == 200
                })
            #expect(await pollUntil { (try? await Self.records(folder).count) == 1 })
            try folder.breakStore()
            #expect(try await TestHTTP.post(proxy, "/fast/echo", ["text": "ran, record held"]).status == 200)
            let refused = try await TestHTTP.post(proxy, "/fast/env_var", ["name": "HOME"])
            #expect(refused.status == 503)
            #expect(refused.json?["detail"]?.stringValue?.contains("audit.required") == true)
            try folder.repairStore()
            #expect(try await TestHTTP.post(proxy, "/fast/echo", ["text": "refused, recorded"]).status == 503)
            #expect(try await TestHTTP.post(proxy, "/fast/echo", ["text": "runs"]).status == 200)
            // The records held while the store failed are written into the new file once it is back (the refused
            // calls' too; the first record went with the removed file).
            #expect(
                await pollUntil {
                    (try? await Self.records(folder).map { $0["outcome"]?.stringValue ?? "" })
                        == ["ok", "unavailable", "unavailable", "ok"]
                })
        }
    }

    @Test("retention deletes records older than retentionDays, within a minute of start")
    func retention() async throws {
        let folder = try Folder()
        var logger = Logger(label: "retention")
        logger.logLevel = .critical
        let store = try await SQLiteStore.open(path: folder.database, logger: logger)
        let now = Date()
        func old(_ id: String, daysAgo: Double) -> AuditRecord {
            AuditRecord(
                id: id, time: now.addingTimeInterval(-daysAgo * 86_400), caller: "ci", server: "s", tool: "t",
                argsSha256: "", status: 200, outcome: .ok, durationMs: 1, replica: "earlier")
        }
        try await store.append([old("a", daysAgo: 40), old("b", daysAgo: 31), old("c", daysAgo: 2)])
        await store.close()
        try folder.write(
            #"{"audit": {"store": "\#(folder.database)", "retentionDays": 30}, "mcpServers": {"kitchen": \#(Self.exampleEntry)}}}"#
        )
        try await withProxy(["--config", folder.config]) { (proxy: ProxyProcess) async throws in
            #expect(await proxy.waitForLog("audit retention: deleted 2 records older than 30 days"))
        }
        #expect(try await Self.records(folder).map { $0["id"]?.stringValue } == ["c"])
    }

    @Test("pinned definitions between two starts: block serves the approved one and answers 409; the CLI approves it")
    func pinsBlock() async throws {
        let folder = try Folder()
        func config(_ drift: String, mode: String = "block") -> String {
            """
            {"audit": {"store": "\(folder.database)"},
             "auth": {"apiKeys": [{"name": "admin", "key": "admin-key", "scopes": ["*"]}]},
             "mcpServers": {"fast": \(Self.fastEntry(#", "pinTools": "\#(mode)""#, drift: drift))}}
            """
        }
        let admin = Self.bearer("admin-key")
        func ready(_ proxy: ProxyProcess) async throws -> Bool {
            try await pollUntil(within: .seconds(120)) {
                try await TestHTTP.get(proxy, "/readyz").json?["servers"]?["fast"]?["state"] == "connected"
            }
        }
        try folder.write(config("v1"))
        try await withProxy(["--config", folder.config, "--startup-timeout", "120"]) {
            (proxy: ProxyProcess) async throws in
            #expect(try await ready(proxy))
            #expect(try await TestHTTP.post(proxy, "/fast/drifting", ["text": "a"], headers: admin).json == "v1:a")
            #expect(
                try await pollUntil {
                    try await Self.cli(["pins", "list", "--store", folder.database]).output.contains(
                        "fast/drifting  approved")
                })
        }
        try folder.write(config("v2"))
        try await withProxy(["--config", folder.config, "--startup-timeout", "120"]) {
            (proxy: ProxyProcess) async throws in
            #expect(try await ready(proxy))
            let document = try await TestHTTP.get(proxy, "/fast/openapi.json")
            let operation = document.json?["paths"]?["/drifting"]?["post"]
            #expect(operation?["x-mcp-pin"] == "changed")
            #expect(
                operation?["description"]?.stringValue?.contains("(v1)") == true, "the approved definition is served")
            let blocked = try await TestHTTP.post(proxy, "/fast/drifting", ["text": "b"], headers: admin)
            #expect(blocked.status == 409)
            #expect(
                blocked.json?["detail"]?.stringValue
                    == "The definition of tool 'drifting' changed since it was approved; approve it with: mcpo pins approve fast drifting"
            )
            let approved = try #require(blocked.json?["approved"]?.stringValue)
            let current = try #require(blocked.json?["current"]?.stringValue)
            #expect(approved != current)
            #expect(await proxy.waitForLog("the definition of tool 'drifting' changed"))
            // MCP clients see the approved definition and the same refusal.
            var client = MCPWireClient(proxy, "/fast/mcp", headers: admin)
            _ = try await client.initialize()
            let tools = try await client.request("tools/list").json?["result"]?["tools"]?.arrayValue ?? []
            let drifting = tools.first { $0["name"] == "drifting" }
            #expect(drifting?["description"]?.stringValue?.contains("(v1)") == true, "\(String(describing: drifting))")
            let refused = try await client.call("drifting", ["text": "m"])
            #expect(refused?["data"]?["status"] == 409, "\(String(describing: refused))")
            #expect(refused?["message"]?.stringValue?.contains("changed since it was approved") == true)
            #expect(
                try await TestHTTP.post(proxy, "/fast/echo", ["text": "c"], headers: admin).status == 200,
                "others serve")
            let listed = try await Self.cli(["pins", "list", "--store", folder.database])
            #expect(
                listed.output.contains(
                    "fast/drifting  changed  approved \(approved.prefix(12))  listed \(current.prefix(12))"))

            let approval = try await Self.cli(["pins", "approve", "fast", "drifting", "--store", folder.database])
            #expect(approval.status == 0, "\(approval.output)")
            #expect(approval.output.contains("approved fast/drifting \(current.prefix(12))"))
            // Noticed by the running proxy within 2 s (its poll is once a second); bounded generously.
            #expect(
                try await pollUntil(within: .seconds(30)) {
                    try await TestHTTP.post(proxy, "/fast/drifting", ["text": "d"], headers: admin).status == 200
                })
            #expect(try await TestHTTP.post(proxy, "/fast/drifting", ["text": "e"], headers: admin).json == "v2:e")
            // One record of the change itself (by the proxy), besides the calls it refused (409s).
            let outcomes = try await Self.records(folder, ["--outcome", "definition_changed"])
            let changes = outcomes.filter { $0["caller"] == "mcpo" }
            #expect(changes.count == 1)
            #expect(changes.first?["tool"] == "drifting")
            #expect(outcomes.filter { $0["caller"] == "admin" }.allSatisfy { $0["status"] == 409 })
        }
        // By route, in a running proxy: a third definition, approved with the scope mcpo:admin.
        try folder.write(config("v3"))
        try await withProxy(["--config", folder.config, "--startup-timeout", "120"]) {
            (proxy: ProxyProcess) async throws in
            #expect(try await ready(proxy))
            #expect(try await TestHTTP.post(proxy, "/fast/drifting", ["text": "f"], headers: admin).status == 409)
            let route = try await TestHTTP.post(proxy, "/pins/fast/drifting/approve", [:], headers: admin)
            #expect(route.status == 200, "\(route.text)")
            #expect(route.json?["approved"]?[0]?["tool"] == "drifting")
            #expect(try await TestHTTP.post(proxy, "/fast/drifting", ["text": "g"], headers: admin).json == "v3:g")
            #expect(try await TestHTTP.post(proxy, "/pins/fast/drifting/approve", [:]).status == 401)
        }
        // warn: logged, recorded, and the new definition served at once.
        try folder.write(config("v4", mode: "warn"))
        try await withProxy(["--config", folder.config, "--startup-timeout", "120"]) {
            (proxy: ProxyProcess) async throws in
            #expect(try await ready(proxy))
            #expect(try await TestHTTP.post(proxy, "/fast/drifting", ["text": "h"], headers: admin).json == "v4:h")
            #expect(await proxy.waitForLog("serving the new one (pinTools: warn)"))
            let document = try await TestHTTP.get(proxy, "/fast/openapi.json")
            #expect(document.json?["paths"]?["/drifting"]?["post"]?["x-mcp-pin"] == nil)
            #expect(
                try await pollUntil {
                    try await Self.records(folder, ["--caller", "mcpo", "--outcome", "definition_changed"]).count == 3
                })
        }
    }

    @Test("trace context goes upstream (headers and _meta) and into the record; JSON logs carry the request id")
    func tracesAndJSONLogs() async throws {
        let folder = try Folder()
        try await withRemotePeer(try RemotePeer.behaviors()) { (peer: RemotePeer) async throws in
            try await withProxy(
                [
                    "--audit", folder.database, "--log-format", "json", "--server-type", "streamable-http", "--",
                    peer.url("/mcp-json"),
                ]
            ) { (proxy: ProxyProcess) async throws in
                #expect(await pollUntil { (try? await TestHTTP.post(proxy, "/headers"))?.status == 200 })
                let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                let reply = try await TestHTTP.post(
                    proxy, "/headers", [:], headers: [("traceparent", traceparent), ("tracestate", "vendor=1")])
                let seen = try #require(reply.json?.stringValue.flatMap { try? JSON.parse($0) } ?? reply.json)
                #expect(seen["traceparent"]?.stringValue == traceparent)
                #expect(seen["tracestate"]?.stringValue == "vendor=1")
                let log = try await TestHTTP.request(.GET, peer.url("/_log"))
                let call = (log.json?.arrayValue ?? []).last {
                    $0["body"]?["method"]?.stringValue == "tools/call"
                }
                #expect(call?["body"]?["params"]?["_meta"]?["traceparent"]?.stringValue == traceparent)
                let malformed = try await TestHTTP.post(proxy, "/headers", [:], headers: [("traceparent", "junk")])
                let seenMalformed = malformed.json?.stringValue.flatMap { try? JSON.parse($0) } ?? malformed.json
                #expect(seenMalformed?["traceparent"] == nil, "a malformed traceparent is not passed on")

                let id = try #require(reply.header("x-request-id"))
                #expect(await pollUntil { (try? await Self.records(folder).count) == 3 })
                let record = try #require(try await Self.records(folder).first { $0["id"]?.stringValue == id })
                #expect(record["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736")

                #expect(await proxy.waitForLog(#""requestId":"\#(id)""#))
                let lines = proxy.logText.split(separator: "\n").filter { $0.hasPrefix("{") }
                #expect(!lines.isEmpty)
                for line in lines {
                    let object = try #require(try? JSON.parse(String(line)), "not JSON: \(line)")
                    #expect(object["time"]?.stringValue?.hasSuffix("Z") == true)
                    #expect(object["level"] != nil)
                    #expect(object["message"] != nil)
                }
                let access = try #require(lines.first { $0.contains(#""requestId":"\#(id)""#) })
                let object = try #require(try? JSON.parse(String(access)))
                #expect(object["status"] == "200")
                #expect(object["tool"] == "headers")
            }
        }
    }
}

extension HTTPReply {
    /// The request id the answer carried.
    var id: String { header("x-request-id") ?? "" }
}
