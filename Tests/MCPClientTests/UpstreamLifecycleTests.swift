import Testing

@testable import MCPClient

/// The lifecycle of an upstream connection as a value, with stand-ins for the session and the connecting work.
@Suite("upstream lifecycle")
struct UpstreamLifecycleTests {
    typealias Lifecycle = UpstreamLifecycle<String, Int>

    @Test("request → connecting (one attempt for every caller) → ready → closed → idle → a new attempt")
    func connectAndReconnect() {
        var lifecycle = Lifecycle()
        var attempts = 0
        let start = { () -> Int in
            attempts += 1
            return attempts
        }
        guard case .connecting(1) = lifecycle.requestSession(start: start) else {
            Issue.record("the first request starts an attempt")
            return
        }
        guard case .connecting(1) = lifecycle.requestSession(start: start) else {
            Issue.record("a second caller joins the attempt under way")
            return
        }
        let generation = lifecycle.beginAttempt()
        #expect(lifecycle.state(now: .now) == .starting)
        let changed1 = lifecycle.connected("session-1", generation: generation)
        #expect(changed1)
        #expect(lifecycle.state(now: .now) == .connected)
        guard case .ready("session-1") = lifecycle.requestSession(start: start) else {
            Issue.record("a connected server hands out its session")
            return
        }
        let changed2 = lifecycle.closed(generation: generation + 1, reason: "old")
        #expect(!changed2, "another generation's close is ignored")
        let changed3 = lifecycle.closed(generation: generation, reason: "process exited")
        #expect(changed3)
        #expect(lifecycle.lastError == "process exited")
        #expect(lifecycle.state(now: .now) == .failed("process exited"))
        guard case .connecting(2) = lifecycle.requestSession(start: start) else {
            Issue.record("after a close the next request connects again")
            return
        }
        #expect(lifecycle.state(now: .now) == .reconnecting(lastError: "process exited", nextAttemptIn: 0))
    }

    @Test("a failed attempt leaves it idle with the reason; supervised, it backs off until the next attempt")
    func backoff() {
        var lifecycle = Lifecycle()
        lifecycle.supervised = true
        _ = lifecycle.requestSession { 1 }
        lifecycle.connectFailed(reason: "refused")
        #expect(lifecycle.state(now: .now) == .reconnecting(lastError: "refused", nextAttemptIn: 0))
        let now = ContinuousClock.now
        let changed4 = lifecycle.backingOff(reason: "refused", until: now + .seconds(2))
        #expect(changed4)
        #expect(lifecycle.state(now: now) == .reconnecting(lastError: "refused", nextAttemptIn: 2))
        let changed5 = lifecycle.backingOff(reason: "again", until: now)
        #expect(!changed5, "only an idle server starts backing off")
    }

    @Test("what calls of a supervised server get in each phase")
    func callAccess() {
        var lifecycle = Lifecycle()
        #expect(lifecycle.callAccess(isStdio: false) == nil, "an unsupervised server connects as needed")
        lifecycle.supervised = true
        guard case .connect = lifecycle.callAccess(isStdio: true) else {
            Issue.record("a stdio server is (re)spawned by a call")
            return
        }
        _ = lifecycle.requestSession { 1 }
        guard case .refused(.unavailable(let reason)) = lifecycle.callAccess(isStdio: false) else {
            Issue.record("a remote server still connecting refuses calls at once")
            return
        }
        #expect(reason == "still connecting to the server")
        lifecycle.connectFailed(reason: "down")
        let changed6 = lifecycle.awaitingAuthorization(url: "https://as/authorize")
        #expect(changed6)
        guard case .awaitingAuthorization("https://as/authorize") = lifecycle.callAccess(isStdio: false) else {
            Issue.record("a server waiting for OAuth says where to authorize")
            return
        }
        #expect(lifecycle.state(now: .now) == .awaitingAuthorization(url: "https://as/authorize"))
        _ = lifecycle.requestSession { 2 }
        let generation = lifecycle.beginAttempt()
        let changed7 = lifecycle.connected("s", generation: generation)
        #expect(changed7)
        guard case .ready("s") = lifecycle.callAccess(isStdio: false) else {
            Issue.record("a connected server's session is used")
            return
        }
    }

    @Test("stop is for good: a late connection no longer counts, requests are refused")
    func stop() {
        var lifecycle = Lifecycle()
        _ = lifecycle.requestSession { 1 }
        let generation = lifecycle.beginAttempt()
        guard case .connecting(1) = lifecycle.stop() else {
            Issue.record("stop returns the phase it left")
            return
        }
        let changed8 = lifecycle.connected("late", generation: generation)
        #expect(!changed8)
        #expect(lifecycle.isStopped)
        #expect(lifecycle.state(now: .now) == .stopped)
        guard case .refused(.unavailable("the proxy is shutting down")) = lifecycle.requestSession(start: { 2 }) else {
            Issue.record("a stopped server refuses")
            return
        }
    }
}
