import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The bounds on client connections, through the real binary and real sockets: what a slow or silent client
/// gets, what many of them cannot do, and what a client that comes back within the idle time keeps.
@Suite("client connection bounds", .serialized)
struct ConnectionBoundsTests {
    let server = ["--", TestPaths.exampleServer]

    @Test("a client sending one header byte at a time is closed at --client-header-timeout, with a log line")
    func slowHead() async throws {
        try await withProxy(["--client-header-timeout", "2"] + server) { proxy in
            let connection = try await RawConnection.connect(port: proxy.port)
            defer { connection.close() }
            let request = Array(
                "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + String(repeating: "a", count: 40))
            // One byte every 500 ms would take 30 s to send; the bound of 2 s closes it long before.
            var sent = 0
            while sent < request.count, !connection.isClosedByPeer {
                try? connection.send(String(request[sent]))
                sent += 1
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(sent < request.count, "the connection stayed open while the head trickled in")
            #expect(await proxy.waitForLog("no complete request head within 2 s (--client-header-timeout)"))
        }
    }

    @Test("2,000 silent connections neither stop a normal client nor outlive the head bound; the log summarises them")
    func silentCrowd() async throws {
        try await withProxy(["--client-header-timeout", "3"] + server) { proxy in
            // The crowd lives in a Python process: Foundation's Process, which launches every other test's
            // children, misreads the descriptor table of a process holding thousands of descriptors.
            let outcome = try await ProcessRunner.run(
                TestPaths.python(.mcp1),
                [TestPaths.fixture("silent_crowd.py"), String(proxy.port), "2000", "120"], bound: .seconds(300))
            let report = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any]
            #expect(outcome.status == 0, "\(outcome.output)")
            #expect(report?["opened"] as? Int == 2000)
            #expect(report?["echo_status"] as? Int == 200)
            #expect(report?["echo_body"] as? String == #""still here""#)
            #expect(report?["closed"] as? Int == 2000)
            #expect(await proxy.waitForLog("more client connections in 10 s", bound: .seconds(60)))
            let lines = proxy.logText.split(separator: "\n").filter { $0.contains("--client-header-timeout") }
            #expect(lines.count < 20, "\(lines.count) lines for 2,000 closures")
        }
    }

    @Test(
        "a kept-alive client that comes back within --keep-alive-timeout reuses its connection; an idle one is closed")
    func keepAlive() async throws {
        try await withProxy(["--keep-alive-timeout", "3"] + server) { proxy in
            let connection = try await RawConnection.connect(port: proxy.port)
            defer { connection.close() }
            let request =
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
            try connection.send(request + #"{"text":"a1"}"#)
            #expect(try await connection.readAnswer().hasSuffix(#""a1""#))
            try connection.send(request + #"{"text":"a2"}"#)
            #expect(try await connection.readAnswer().hasSuffix(#""a2""#))
            #expect(await connection.waitForClose(bound: .seconds(60)))
        }
    }

    @Test("at --max-connections a new connection waits to be accepted and is served once one closes")
    func connectionCap() async throws {
        try await withProxy(["--max-connections", "2"] + server) { proxy in
            let first = try await RawConnection.connect(port: proxy.port)
            let second = try await RawConnection.connect(port: proxy.port)
            #expect(await proxy.waitForLog("the most --max-connections allows"))
            let third = try await RawConnection.connect(port: proxy.port)  // in the kernel's backlog
            defer { for connection in [second, third] { connection.close() } }
            try third.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try second.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await second.readAnswer().contains("200 OK"), "an open connection keeps working")
            first.close()
            #expect(try await third.readAnswer().contains("200 OK"))
        }
    }
}
