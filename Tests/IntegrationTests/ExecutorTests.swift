import Foundation
import JSONValue
import TestSupport
import Testing

/// The proxy runs Swift's tasks on SwiftNIO's event loop threads through a hook of the Swift runtime that no release
/// promises (`Sources/mcpo/EventLoopGlobalExecutor.swift`). The day a toolchain drops or changes it, these fail.
@Suite("the global executor")
struct ExecutorTests {
    let server = ["--", TestPaths.exampleServer]

    @Test("tasks run on the event loops, and calls work there")
    func eventLoops() async throws {
        try await withProxy(["--log-level", "debug"] + server) { proxy in
            #expect(await proxy.waitForLog("Swift tasks run on the event loop threads"), "\(proxy.logText)")
            let answer = try await TestHTTP.post(proxy, "/echo", ["text": "on a loop"])
            #expect(answer.json == "on a loop")
        }
    }

    @Test("MCPO_EXECUTOR=swift keeps Swift's own thread pool, and calls work there too")
    func swiftPool() async throws {
        try await withProxy(["--log-level", "debug"] + server, environment: ["MCPO_EXECUTOR": "swift"]) { proxy in
            #expect(await proxy.waitForLog("Swift tasks run on Swift's own thread pool (MCPO_EXECUTOR=swift)"))
            let answer = try await TestHTTP.post(proxy, "/echo", ["text": "on the pool"])
            #expect(answer.json == "on the pool")
        }
    }
}
