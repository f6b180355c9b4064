import Foundation
import JSONValue
import TestSupport
import Testing

/// Long calls and failures: timeouts from every source, cancellation, progress streaming, retries only
/// when safe, limits, misbehaving servers and crash loops.
@Suite("long calls and failures")
struct ResilienceTests {
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    }

    @Test("timeouts: X-MCPO-Timeout (bounded by --max-timeout), config toolTimeouts, and a clear 400 for junk")
    func timeouts() async throws {
        try await withProxy(["--timeout", "1", "--max-timeout", "30", "--"] + PythonLine.mcp1.fastMCPServer) {
            proxy in
            let longer = try await TestHTTP.post(
                proxy, "/slow", ["seconds": 2], headers: [("X-MCPO-Timeout", "20")])
            #expect(longer.status == 200, "\(longer.text)")
            let shorter = try await TestHTTP.post(proxy, "/slow", ["seconds": 60], headers: [("X-MCPO-Timeout", "0.5")])
            #expect(shorter.status == 504)
            #expect(shorter.json?["detail"]?["message"]?.stringValue?.contains("0.5 s") == true)
            let junk = try await TestHTTP.post(proxy, "/slow", ["seconds": 1], headers: [("X-MCPO-Timeout", "soon")])
            #expect(junk.status == 400)
            // Above --max-timeout the header is cut down to it.
            let capped = try await TestHTTP.post(
                proxy, "/slow", ["seconds": 60], headers: [("X-MCPO-Timeout", "100000")], timeout: .seconds(90))
            #expect(capped.status == 504)
            #expect(capped.json?["detail"]?["message"]?.stringValue?.contains("30 s") == true)
        }
        let folder = try ConfigModeTests.ConfigFolder()
        let server = PythonLine.mcp1.fastMCPServer
        try folder.write(
            #"{"mcpServers": {"fast": {"command": "\#(server[0])", "args": ["\#(server[1])"], "timeout": 60, "toolTimeouts": {"slow": 1}}}}"#
        )
        try await withProxy(["--config", folder.file]) { proxy in
            let slow = try await TestHTTP.post(proxy, "/fast/slow", ["seconds": 30])
            #expect(slow.status == 504)
            #expect(slow.json?["detail"]?["message"]?.stringValue?.contains("1 s") == true)
            let whoami = try await TestHTTP.post(proxy, "/fast/whoami", ["delay_ms": 1500, "tag": "t"])
            #expect(whoami.status == 200)
        }
    }

    /// `MCPO_EXECUTOR=swift` keeps Swift's own thread pool instead of the event loops: both must behave.
    @Test(
        "an HTTP client that goes away cancels its call upstream; a queued call it left is never sent",
        arguments: ["event-loops", "swift"])
    func clientGoneCancels(executor: String) async throws {
        let marker = Self.temporaryPath("cancel-marker")
        let queuedMarker = Self.temporaryPath("queued-marker")
        defer {
            try? FileManager.default.removeItem(atPath: marker)
            try? FileManager.default.removeItem(atPath: queuedMarker)
        }
        try await withProxy(
            ["--max-concurrent-calls", "1", "--"] + PythonLine.mcp1.fastMCPServer,
            environment: ["MCPO_EXECUTOR": executor]
        ) { proxy async throws in
            // The client gives up once the tool runs (a cancellation that reaches the server before the tool
            // starts cancels a tool that never ran: nothing to see) and closes its connection.
            let leaving = Task {
                try await TestHTTP.post(proxy, "/cancellable_wait", ["seconds": 60, "marker": .string(marker)])
            }
            let running = await pollUntil(within: .seconds(90)) {
                (try? String(contentsOfFile: marker, encoding: .utf8)) == "started"
            }
            #expect(running)
            leaving.cancel()
            _ = await leaving.result
            let cancelled = await pollUntil(within: .seconds(90)) {
                (try? String(contentsOfFile: marker, encoding: .utf8)) == "cancelled"
            }
            #expect(cancelled, "the server never saw notifications/cancelled")
            // Logged once the call has ended, which may come just after the server saw the cancellation.
            let logged = await pollUntil(within: .seconds(90)) {
                proxy.logText.contains("went away; the call was cancelled")
            }
            #expect(logged)

            // A call waiting for the only slot whose client leaves gives up its place at once: it is never sent,
            // not even once the slot frees.
            let holdMarker = Self.temporaryPath("hold-marker")
            defer { try? FileManager.default.removeItem(atPath: holdMarker) }
            let holder = Task {
                try await TestHTTP.post(proxy, "/cancellable_wait", ["seconds": 600, "marker": .string(holdMarker)])
            }
            let holding = await pollUntil(within: .seconds(90)) {
                (try? String(contentsOfFile: holdMarker, encoding: .utf8)) == "started"
            }
            #expect(holding)
            let body = #"{"seconds": 1, "marker": "\#(queuedMarker)"}"#
            let queued = try await RawConnection.connect(port: proxy.port)
            try queued.send(
                "POST /marked_wait HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            func callsQueued() async -> Int? {
                try? await TestHTTP.get(proxy, "/readyz").json?["servers"]?.objectValue?.values.first?["callsQueued"]?
                    .intValue
            }
            #expect(await pollUntil(within: .seconds(90)) { await callsQueued() == 1 }, "the call never queued")
            queued.close()
            let gaveUp = await pollUntil(within: .seconds(90)) {
                proxy.logText.contains("went away while its call waited for a slot")
            }
            #expect(gaveUp)
            #expect(await callsQueued() == 0)
            holder.cancel()
            _ = await holder.result
            // The slot passes in arrival order: had the abandoned call still been waiting, it would run first.
            let next = try await TestHTTP.post(proxy, "/marked_wait", ["seconds": 0, "marker": .string(marker)])
            #expect(next.status == 200)
            #expect(try await TestHTTP.post(proxy, "/echo", ["text": "still fine"]).json == "still fine")
            #expect(!FileManager.default.fileExists(atPath: queuedMarker), "the abandoned queued call was sent")
        }
    }

    @Test("Accept: text/event-stream streams progress, then the result; errors arrive as an error event")
    func progressStream() async throws {
        try await withProxy(["--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let stream = try await TestHTTP.post(
                proxy, "/progress_steps", ["steps": 3], headers: [("Accept", "text/event-stream")])
            #expect(stream.status == 200)
            #expect(stream.header("content-type") == "text/event-stream")
            let events = stream.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            let progress = events.filter { $0.hasPrefix("event: progress") }
            #expect(progress.count == 3, "\(stream.text)")
            #expect(progress.first?.contains(#""progress":1"#) == true)
            #expect(progress.first?.contains(#""message":"step 1""#) == true)
            #expect(events.last == "event: result\ndata: \"done\"")
            let failing = try await TestHTTP.post(proxy, "/explode", [:], headers: [("Accept", "text/event-stream")])
            #expect(failing.text.contains("event: error"))
            #expect(failing.text.contains(#""status":500"#))
            // Plain JSON callers are unchanged.
            let plain = try await TestHTTP.post(proxy, "/progress_steps", ["steps": 2])
            #expect(plain.json == "done")
        }
    }

    @Test("retries: a read-only call is sent again after a crash, a destructive one never")
    func retries() async throws {
        let readMarker = Self.temporaryPath("flaky-read")
        let writeMarker = Self.temporaryPath("flaky-write")
        defer {
            try? FileManager.default.removeItem(atPath: readMarker)
            try? FileManager.default.removeItem(atPath: writeMarker)
        }
        try await withProxy(["--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let read = try await TestHTTP.post(proxy, "/flaky_read", ["marker": .string(readMarker)])
            #expect(read.status == 200, "\(read.text)")
            #expect(read.json == "recovered")
            let write = try await TestHTTP.post(proxy, "/flaky_write", ["marker": .string(writeMarker)])
            #expect(write.status == 502, "\(write.text)")
            // The server did run it once (the marker exists); only the caller decides to repeat it.
            #expect(FileManager.default.fileExists(atPath: writeMarker))
            let again = try await TestHTTP.post(proxy, "/flaky_write", ["marker": .string(writeMarker)])
            #expect(again.json == "written")
        }
    }

    @Test("calls beyond --max-concurrent-calls wait in the queue; beyond the queue they get 503 at once")
    func concurrencyLimit() async throws {
        let folder = Self.temporaryPath("queue")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let release = folder + "/release"
        let arguments = ["--max-concurrent-calls", "1", "--max-queued-calls", "1", "--"]
        try await withProxy(arguments + PythonLine.mcp1.fastMCPServer) { proxy in
            // Each call holds its slot until the test releases them all: the test waits for events, not for time.
            @Sendable func held(_ name: String) async throws -> HTTPReply {
                try await TestHTTP.post(
                    proxy, "/held_until_released",
                    ["marker": .string(folder + "/" + name), "release": .string(release)])
            }
            let first = Task { try await held("first") }
            #expect(await pollUntil { FileManager.default.fileExists(atPath: folder + "/first") })
            // The only slot is taken: of the next two calls one waits in the queue, the other (the queue full) is
            // answered before anything is released.
            let replies = try await withThrowingTaskGroup(of: HTTPReply.self) { group in
                for name in ["second", "third"] { group.addTask { try await held(name) } }
                var replies: [HTTPReply] = []
                if let answeredAtOnce = try await group.next() { replies.append(answeredAtOnce) }
                FileManager.default.createFile(atPath: release, contents: Data())
                for try await reply in group { replies.append(reply) }
                return replies + [try await first.value]
            }
            #expect(replies.first?.status == 503)
            #expect(replies.filter { $0.status == 200 }.count == 2)
            let refused = try #require(replies.first { $0.status == 503 })
            #expect(refused.json?["detail"]?["message"]?.stringValue?.contains("too many calls") == true)
        }
    }

    @Test("a server that writes garbage and oversized answers: logged, and only that call fails")
    func misbehavingServer() async throws {
        let server = [TestPaths.python(.mcp1), TestPaths.fixture("misbehaving.py")]
        try await withProxy(["--max-response-size", "100000", "--"] + server) { proxy in
            let echo = try await TestHTTP.post(proxy, "/garbage_then_echo", ["text": "clean"])
            #expect(echo.status == 200)
            #expect(echo.json == "clean")
            let started = ContinuousClock.now
            let huge = try await TestHTTP.post(proxy, "/huge", ["size": 500_000])
            #expect(huge.status == 502)
            #expect(huge.json?["detail"]?["message"]?.stringValue?.contains("100000 bytes") == true)
            // Failed at once, not after the 300 s timeout.
            #expect(ContinuousClock.now - started < .seconds(60))
            let after = try await TestHTTP.post(proxy, "/echo", ["text": "after"])
            #expect(after.json == "after")
            // The server pings the proxy; the proxy answers.
            #expect(try await TestHTTP.post(proxy, "/ping_client").json == "sent")
            #expect(
                try await pollUntil(within: .seconds(90)) {
                    try await TestHTTP.post(proxy, "/ping_answered").json == [
                        "jsonrpc": "2.0", "id": "server-ping", "result": [:],
                    ]
                })
            #expect(proxy.logText.contains("not JSON-RPC") || proxy.logText.contains("ignored"))
        }
    }

    @Test("a stdio server in a crash loop is retried with backoff and /readyz shows its last stderr lines")
    func crashLoop() async throws {
        let folder = try ConfigModeTests.ConfigFolder()
        try folder.write(
            #"""
            {"mcpServers": {
              "good": {"command": "\#(TestPaths.exampleServer)"},
              "crashy": {"command": "sh", "args": ["-c", "echo 'fatal: MISSING_API_KEY is not set' >&2; exit 1"]}
            }}
            """#)
        try await withProxy(["--config", folder.file]) { proxy in
            var report = try await TestHTTP.get(proxy, "/readyz")
            let explained = try await pollUntil(within: .seconds(90)) {
                report = try await TestHTTP.get(proxy, "/readyz")
                return report.json?["servers"]?["crashy"]?["recentStderr"]?.arrayValue?
                    .contains("fatal: MISSING_API_KEY is not set") == true
            }
            #expect(explained, "\(report.text)")
            #expect(report.json?["servers"]?["crashy"]?["state"] == "reconnecting")
            #expect(report.json?["servers"]?["crashy"]?["retryInSeconds"] != nil)
            #expect(report.json?["servers"]?["good"]?["state"] == "connected")
            #expect(report.status == 200)
            let call = try await TestHTTP.post(proxy, "/crashy/anything", [:])
            #expect(call.status == 503)
        }
    }
}
