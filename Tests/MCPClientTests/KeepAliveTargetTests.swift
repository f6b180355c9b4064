import Foundation
import Testing

@testable import MCPClient

@Suite("keep-alive request targets")
struct KeepAliveTargetTests {
    @Test(
        "plain http URLs become host, port, request target and Host header",
        arguments: [
            ("http://127.0.0.1:8001/mcp", "127.0.0.1", 8001, "/mcp", "127.0.0.1:8001"),
            ("http://example.com/mcp/?key=a%20b#part", "example.com", 80, "/mcp/?key=a%20b", "example.com"),
            ("http://example.com", "example.com", 80, "/", "example.com"),
            ("http://[::1]:9000/a%2Fb", "::1", 9000, "/a%2Fb", "[::1]:9000"),
            ("http://bücher.example:8000/mcp", "xn--bcher-kva.example", 8000, "/mcp", "xn--bcher-kva.example:8000"),
            ("http://Local%41host/mcp", "LocalAhost", 80, "/mcp", "LocalAhost"),
        ])
    func target(url: String, host: String, port: Int, path: String, authority: String) throws {
        let parsed = try #require(URL(string: url))
        let target = try #require(KeepAliveTarget(parsed))
        #expect(target.host == host)
        #expect(target.port == port)
        #expect(target.path == path)
        #expect(target.authority == authority)
    }

    @Test(
        "TLS and credentials in the URL are left to AsyncHTTPClient",
        arguments: ["https://example.com/mcp", "http://user:secret@example.com/mcp", "file:///tmp/x"])
    func notKeepAlive(url: String) throws {
        #expect(KeepAliveTarget(try #require(URL(string: url))) == nil)
    }
}
