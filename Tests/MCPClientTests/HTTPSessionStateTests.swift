import Foundation
import Testing

@testable import MCPClient

/// The session side of a streamable HTTP connection as a value, without a server.
@Suite("streamable HTTP session state")
struct HTTPSessionStateTests {
    let url = URL(string: "http://127.0.0.1:8000/mcp")!  // a valid literal

    @Test("the first session id the server assigns is kept; a reset forgets it and the version")
    func assignAndReset() {
        var state = HTTPSessionState(endpoint: url, configuredHost: nil)
        state.assign(session: "a")
        state.assign(session: "b")
        #expect(state.sessionID == "a")
        state.protocolVersion = "2025-11-25"
        _ = state.expire("a")
        state.reset()
        #expect(state.sessionID == nil)
        #expect(state.expiredSessionID == nil)
        #expect(state.protocolVersion == nil)
        state.assign(session: "b")
        #expect(state.sessionID == "b")
    }

    @Test("a session is expired once, and only the current one; requests on it are known to be refused")
    func expiry() {
        var state = HTTPSessionState(endpoint: url, configuredHost: nil)
        let changed1 = state.expire("a")
        #expect(!changed1, "no session yet")
        state.assign(session: "a")
        let changed2 = state.expire("other")
        #expect(!changed2)
        let changed3 = state.expire("a")
        #expect(changed3)
        let changed4 = state.expire("a")
        #expect(!changed4, "said once: one renewal for every caller")
        #expect(state.isForgotten("a"))
        #expect(!state.isForgotten(nil))
    }

    @Test("the keep-alive fast path: plain http, open, not on a forgotten session")
    func fastPath() {
        var state = HTTPSessionState(endpoint: url, configuredHost: "virtual.example", protocolVersion: "2026-07-28")
        let path = state.fastPath
        #expect(path?.target.authority == "virtual.example")
        #expect(path?.version == "2026-07-28")
        state.assign(session: "a")
        #expect(state.fastPath?.session == "a")
        _ = state.expire("a")
        #expect(state.fastPath == nil)
        let tls = HTTPSessionState(endpoint: URL(string: "https://example.com/mcp")!, configuredHost: nil)  // valid
        #expect(tls.fastPath == nil)
        var closed = HTTPSessionState(endpoint: url, configuredHost: nil)
        let changed5 = closed.close(reason: "down")
        #expect(changed5)
        let changed6 = closed.close(reason: "again")
        #expect(!changed6)
        #expect(closed.closedReason == "down")
        #expect(closed.fastPath == nil)
    }

    @Test("a redirect's final URL is adopted within the same origin only")
    func redirects() {
        var state = HTTPSessionState(endpoint: url, configuredHost: nil)
        state.adopt(finalURL: URL(string: "http://127.0.0.1:8000/v2/mcp")!)  // valid
        #expect(state.endpoint.path == "/v2/mcp")
        #expect(state.keepAliveTarget?.path == "/v2/mcp")
        state.adopt(finalURL: URL(string: "http://evil.example/mcp")!)  // valid
        #expect(state.endpoint.path == "/v2/mcp")
        state.adopt(finalURL: URL(string: "http://127.0.0.1:9000/mcp")!)  // valid
        #expect(state.endpoint.port == 8000, "another port is another origin")
    }
}
