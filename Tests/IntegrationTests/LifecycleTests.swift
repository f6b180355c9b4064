import Foundation
import JSONValue
import TestSupport
import Testing

/// Crashes, concurrency, sizes, timeouts, tool-list changes, startup and shutdown.
@Suite("stdio server lifecycle")
struct LifecycleTests {
    @Test("a child that dies mid-call fails that call with 502 at once, and the next call respawns it")
    func crashMidCall() async throws {
        try await withProxy(["--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let marker = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
                .path
            defer { try? FileManager.default.removeItem(atPath: marker) }
            let slow = Task {
                try await TestHTTP.post(proxy, "/marked_wait", ["seconds": 30, "marker": .string(marker)])
            }
            // The crash comes only once the slow call has reached the server, however loaded the machine is.
            #expect(
                await pollUntil(within: .seconds(60)) {
                    FileManager.default.fileExists(atPath: marker)
                })
            let started = ContinuousClock.now
            let crash = try await TestHTTP.post(proxy, "/crash")
            #expect(crash.status == 502, "\(crash.text)")
            #expect(crash.json?["detail"]?["message"]?.stringValue?.contains("exited with status 3") == true)
            let inFlight = try await slow.value
            #expect(inFlight.status == 502)
            // Failing in flight calls must not wait for their 300 s timeout.
            #expect(ContinuousClock.now - started < .seconds(150))
            let after = try await TestHTTP.post(proxy, "/echo", ["text": "after crash"])
            #expect(after.status == 200)
            #expect(after.json == "after crash")
        }
    }

    @Test("50 concurrent calls each get their own answer", arguments: PythonLine.allCases)
    func concurrentCalls(line: PythonLine) async throws {
        try await withProxy(["--"] + line.fastMCPServer) { proxy in
            let answers = try await withThrowingTaskGroup(of: (Int, HTTPReply).self) { group in
                for index in 0..<50 {
                    group.addTask {
                        (
                            index,
                            try await TestHTTP.post(
                                proxy, "/whoami", ["delay_ms": 200, "tag": .string("call-\(index)")])
                        )
                    }
                }
                var answers: [Int: HTTPReply] = [:]
                for try await (index, reply) in group { answers[index] = reply }
                return answers
            }
            #expect(answers.count == 50)
            for (index, reply) in answers {
                #expect(reply.status == 200)
                #expect(reply.json == .string("call-\(index)"))
            }
        }
    }

    @Test("1 MB in and 1 MB out")
    func largePayloads() async throws {
        try await withProxy(["--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let megabyte = 1_048_576
            let input = String(repeating: "y", count: megabyte)
            let length = try await TestHTTP.post(proxy, "/length", ["text": .string(input)])
            #expect(length.status == 200)
            #expect(length.json == .int(megabyte))
            let big = try await TestHTTP.post(proxy, "/big", ["size": .int(megabyte)])
            #expect(big.status == 200)
            #expect(big.json?.stringValue?.count == megabyte)
        }
    }

    @Test("a request body over the limit gets 413")
    func bodyLimit() async throws {
        try await withProxy(["--max-body-size", "1000", "--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let reply = try await TestHTTP.post(proxy, "/echo", ["text": .string(String(repeating: "z", count: 5000))])
            #expect(reply.status == 413)
            #expect(reply.json?["detail"]?.stringValue?.contains("1000 bytes") == true)
        }
    }

    @Test("a call over --timeout answers 504 and the server stays usable")
    func timeout() async throws {
        try await withProxy(["--timeout", "1", "--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let started = ContinuousClock.now
            let reply = try await TestHTTP.post(proxy, "/slow", ["seconds": 120])
            #expect(reply.status == 504)
            // Far below the tool's 120 s: the 1 s bound ended the call.
            #expect(ContinuousClock.now - started < .seconds(60))
            let echo = try await TestHTTP.post(proxy, "/echo", ["text": "still here"])
            #expect(echo.json == "still here")
        }
    }

    @Test("tools/list_changed adds the new route and updates the document")
    func listChanged() async throws {
        try await withProxy(["--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let before = try await TestHTTP.post(proxy, "/late_tool", ["x": 21])
            #expect(before.status == 404)
            let added = try await TestHTTP.post(proxy, "/add_tool")
            #expect(added.status == 200, "\(added.text)")
            var after = before
            let served = try await pollUntil(within: .seconds(90)) {
                after = try await TestHTTP.post(proxy, "/late_tool", ["x": 21])
                return after.status == 200
            }
            #expect(served)
            #expect(after.json == 42)
            let document = try await TestHTTP.get(proxy, "/openapi.json")
            #expect(document.json?["paths"]?["/late_tool"] != nil)
        }
    }

    @Test("server log notifications and stderr reach our log; -e reaches the server's environment")
    func logsAndEnvironment() async throws {
        try await withProxy(["-e", "FIXTURE_SECRET=shh", "--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let env = try await TestHTTP.post(proxy, "/env_var", ["name": "FIXTURE_SECRET"])
            #expect(env.json == "shh")
            let logged = try await TestHTTP.post(proxy, "/log_something", ["message": "note-from-tool"])
            #expect(logged.status == 200)
            #expect(await proxy.waitForLog("note-from-tool"))
            // Arguments never reach the log at info.
            let marker = "argument-value-\(UUID().uuidString)"
            _ = try await TestHTTP.post(proxy, "/echo", ["text": .string(marker)])
            // The call's own log line is written once it is answered: by then anything about it is in the log.
            #expect(await proxy.waitForLog("POST /echo"))
            #expect(!proxy.logText.contains(marker))
        }
    }

    @Test("a server that cannot start makes mcpo exit non-zero with the reason")
    func startupFailure() async throws {
        let outcome = try await ProcessRunner.run(
            TestPaths.mcpo, ["--port", "0", "--", "definitely-not-a-command-xyz"])
        let output = outcome.output
        #expect(outcome.status == 1)
        #expect(output.contains("definitely-not-a-command-xyz"))
        #expect(output.contains("not found"))
    }

    @Test("SIGTERM stops the server's whole process group and exits 0")
    func shutdown() async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("fixture-\(UUID().uuidString).pid")
        let proxy = try await ProxyProcess.start(
            ["--"] + PythonLine.mcp1.fastMCPServer, environment: ["FIXTURE_PID_FILE": pidFile.path])
        let echo = try await TestHTTP.post(proxy, "/echo", ["text": "x"])
        #expect(echo.status == 200)
        let pidText = try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let childPID = try #require(Int32(pidText))
        #expect(kill(childPID, 0) == 0)
        let status = await proxy.stop()
        #expect(status == 0)
        #expect(kill(childPID, 0) != 0, "the server process outlived the proxy")
    }
}
