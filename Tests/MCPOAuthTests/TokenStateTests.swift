import Foundation
import Testing

@testable import MCPOAuth

// The state `TokenManager` composes, as values: each transition checked with stand-ins for the tasks and timers and
// with the clock passed in, so nothing here touches the network, the disk or the wall clock.

/// The instant every test counts from.
private let epoch = Date(timeIntervalSince1970: 1_700_000_000)

private func tokens(_ access: String, scope: String? = nil) -> OAuthTokens {
    OAuthTokens(
        accessToken: access, scope: scope, obtainedAt: epoch, issuer: "http://as", resource: "http://rs/mcp",
        clientID: "client")
}

private func pending(
    _ state: String, user: String?, redirectURI: String = "http://localhost:3030/callback", createdAt: Date = epoch,
    lifetime: TimeInterval = 600
) -> PendingAuthorization {
    PendingAuthorization(
        state: state, pkce: PKCE(verifier: "verifier-\(state)"), issuer: "http://as", issParameterSupported: false,
        redirectURI: redirectURI, resource: "http://rs/mcp", scope: nil, clientID: "client", user: user,
        url: "http://as/authorize?state=\(state)", createdAt: createdAt,
        expiresAt: createdAt.addingTimeInterval(lifetime))
}

private func prompt(_ url: String, user: String?) -> AuthorizationPrompt {
    AuthorizationPrompt(server: "secure", user: user, url: url, userCode: "ABCD-EFGH", expiresAt: epoch)
}

@Suite("token cache")
struct TokenCacheTests {
    typealias Cache = TokenCache<Int>

    @Test("the store is read once per user: unknown until held, then held even when there are none")
    func loadedOnce() {
        var cache = Cache()
        #expect(!cache.isLoaded("alice"))
        #expect(cache.tokens(of: "alice") == nil)
        cache.hold(nil, for: "alice", now: epoch)
        #expect(cache.isLoaded("alice"), "an empty store is an answer too")
        #expect(cache.tokens(of: "alice") == nil)
        cache.hold(tokens("a1"), for: "alice", now: epoch)
        #expect(cache.tokens(of: "alice")?.accessToken == "a1")
        #expect(cache.tokens(of: "bob") == nil, "users are kept apart")
        #expect(!cache.isLoaded("bob"))
    }

    @Test("dropped tokens stay dropped without asking the store; an unknown user gets no entry")
    func drop() {
        var cache = Cache()
        cache.hold(tokens("a1"), for: "alice", now: epoch)
        cache.drop("alice")
        #expect(cache.isLoaded("alice"))
        #expect(cache.tokens(of: "alice") == nil)
        cache.drop("bob")
        #expect(cache.entries["bob"] == nil)
    }

    @Test("one refresh for every caller: the first starts it, later ones join, its end lets the next one start")
    func singleFlightRefresh() {
        var cache = Cache()
        var started = 0
        let startRefresh = { () -> Int in
            started += 1
            return started
        }
        guard case .started(1) = cache.refresh(for: nil, now: epoch, start: startRefresh) else {
            Issue.record("the first caller starts the refresh")
            return
        }
        guard case .joined(1) = cache.refresh(for: nil, now: epoch, start: startRefresh) else {
            Issue.record("a second caller joins the refresh in flight")
            return
        }
        guard case .started(2) = cache.refresh(for: "alice", now: epoch, start: startRefresh) else {
            Issue.record("another user's refresh is their own")
            return
        }
        #expect(started == 2)
        cache.refreshEnded(for: nil)
        let next = cache.refresh(for: nil, now: epoch, start: startRefresh)
        #expect(next.work == 3, "after the end a new refresh starts")
    }

    @Test("idle users: unseen since the limit, not refreshing, never the single user")
    func idleUsers() {
        var cache = Cache()
        cache.touch("alice", now: epoch)
        cache.touch("bob", now: epoch)
        cache.touch("carol", now: epoch)
        cache.touch(nil, now: epoch)
        cache.touch("bob", now: epoch.addingTimeInterval(120))
        _ = cache.refresh(for: "carol", now: epoch) { 1 }
        #expect(cache.idleUsers(before: epoch.addingTimeInterval(60)) == ["alice"])
        cache.refreshEnded(for: "carol")
        #expect(cache.idleUsers(before: epoch.addingTimeInterval(60)).sorted() == ["alice", "carol"])
        cache.hold(tokens("d1"), for: "dave", now: epoch.addingTimeInterval(30))
        #expect(cache.entries["dave"]?.lastUse == epoch.addingTimeInterval(30), "a user first seen by the store")
        cache.forget("alice")
        #expect(cache.entries["alice"] == nil)
        #expect(cache.idleUsers(before: epoch.addingTimeInterval(60)).sorted() == ["carol", "dave"])
    }
}

@Suite("pending authorizations")
struct PendingAuthorizationsTests {
    typealias Pending = PendingAuthorizations<Int>

    @Test("found by state, taken once; the user's link is handed out again while it stays valid")
    func takeOnce() {
        var pendings = Pending(capacity: 10)
        pendings.add(pending("s1", user: "alice"))
        #expect(pendings.owns(state: "s1"))
        #expect(!pendings.owns(state: "s2"))
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch.addingTimeInterval(570))?.state == "s1")
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch.addingTimeInterval(600)) == nil, "expired by then")
        #expect(pendings.waiting(for: "bob", unexpiredAt: epoch) == nil)
        let taken = pendings.take(state: "s1")
        #expect(taken?.user == "alice")
        let retaken = pendings.take(state: "s1")
        #expect(retaken == nil, "a state is used once")
        #expect(!pendings.owns(state: "s1"))
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch) == nil)
    }

    @Test("a newer link becomes the user's; an older one still completes without taking the newer one's place")
    func latestLink() {
        var pendings = Pending(capacity: 10)
        pendings.add(pending("s1", user: "alice"))
        pendings.add(pending("s2", user: "alice", createdAt: epoch.addingTimeInterval(1)))
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch)?.state == "s2")
        let older = pendings.take(state: "s1")
        #expect(older != nil)
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch)?.state == "s2")
    }

    @Test("expiry drops the links that no longer work and keeps the others")
    func expiry() {
        var pendings = Pending(capacity: 10)
        pendings.add(pending("short", user: "alice", lifetime: 60))
        pendings.add(pending("long", user: "bob", lifetime: 600))
        pendings.removeExpired(now: epoch.addingTimeInterval(60))
        #expect(!pendings.owns(state: "short"))
        #expect(pendings.owns(state: "long"))
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch) == nil)
    }

    @Test("at capacity the oldest link goes first")
    func capacity() {
        var pendings = Pending(capacity: 2)
        pendings.add(pending("b", user: "bob", createdAt: epoch.addingTimeInterval(1)))
        pendings.add(pending("a", user: "alice", createdAt: epoch))
        pendings.add(pending("c", user: "carol", createdAt: epoch.addingTimeInterval(2)))
        #expect(pendings.byState.keys.sorted() == ["b", "c"])
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch) == nil)
    }

    @Test("a withdrawn link (step-up) and a forgotten user (idle session) leave the others alone")
    func withdrawAndForget() {
        var pendings = Pending(capacity: 10)
        pendings.add(pending("a1", user: "alice"))
        pendings.add(pending("a2", user: "alice"))
        pendings.add(pending("b1", user: "bob"))
        pendings.withdraw(for: "alice")
        #expect(pendings.byState.keys.sorted() == ["a1", "b1"], "only the link alice was last given")
        #expect(pendings.waiting(for: "alice", unexpiredAt: epoch) == nil)
        pendings.forget("alice")
        #expect(pendings.byState.keys.sorted() == ["b1"])
        #expect(pendings.waiting(for: "bob", unexpiredAt: epoch)?.state == "b1")
    }

    @Test("whether a link still needs the loopback redirect")
    func containsLoopbackLink() {
        var pendings = Pending(capacity: 10)
        pendings.add(pending("p", user: nil, redirectURI: "https://proxy.example/oauth/secure/callback"))
        #expect(!pendings.contains { $0.redirectURI.hasPrefix("http://localhost") })
        pendings.add(pending("l", user: nil))
        #expect(pendings.contains { $0.redirectURI.hasPrefix("http://localhost") })
    }

    @Test("a link is made once for every caller; its end lets the next one be made")
    func singleFlightMaking() {
        var pendings = Pending(capacity: 10)
        guard case .started(1) = pendings.make(for: "alice", start: { 1 }) else {
            Issue.record("the first caller makes the link")
            return
        }
        guard case .joined(1) = pendings.make(for: "alice", start: { 2 }) else {
            Issue.record("a second caller joins the making")
            return
        }
        #expect(pendings.isMaking(for: "alice"))
        #expect(!pendings.isMaking(for: "bob"))
        pendings.makingEnded(for: "alice")
        #expect(!pendings.isMaking(for: "alice"))
        guard case .started(3) = pendings.make(for: "alice", start: { 3 }) else {
            Issue.record("after the end a new making starts")
            return
        }
        pendings.forget("alice")
        #expect(!pendings.isMaking(for: "alice"))
    }
}

@Suite("device authorization polls")
struct DeviceAuthorizationPollsTests {
    typealias Polls = DeviceAuthorizationPolls<Int>

    @Test("a poll under way keeps its prompt until it ends; users are kept apart")
    func promptWhilePolling() {
        var polls = Polls()
        #expect(polls.prompt(for: "alice") == nil)
        polls.started(1, prompt: prompt("http://as/device", user: "alice"), for: "alice")
        polls.started(2, prompt: prompt("http://as/device", user: "bob"), for: "bob")
        #expect(polls.prompt(for: "alice")?.user == "alice")
        #expect(polls.prompt(for: "alice")?.userCode == "ABCD-EFGH")
        #expect(polls.polls.sorted() == [1, 2])
        polls.ended(for: "alice")
        #expect(polls.prompt(for: "alice") == nil)
        #expect(polls.prompt(for: "bob") != nil)
    }

    @Test("an expired session's poll is handed back to be stopped, once")
    func removeForStopping() {
        var polls = Polls()
        polls.started(7, prompt: prompt("http://as/device", user: "alice"), for: "alice")
        let removed = polls.remove(for: "alice")
        #expect(removed == 7)
        let again = polls.remove(for: "alice")
        #expect(again == nil)
        #expect(polls.polls.isEmpty)
    }
}

@Suite("loopback lease")
struct LoopbackLeaseTests {
    typealias Lease = LoopbackLease<Int>

    @Test("the first loopback link attaches; later links only replace the stop timer")
    func attachOnce() {
        var lease = Lease()
        let first = lease.linkMade(stopTimer: 1)
        #expect(first.attach)
        #expect(first.replacedTimer == nil)
        lease.attached()
        #expect(lease.isAttached)
        let second = lease.linkMade(stopTimer: 2)
        #expect(!second.attach)
        #expect(second.replacedTimer == 1)
        #expect(lease.stopTimer == 2)
    }

    @Test("after a failed attach the next link tries again")
    func attachAgainAfterFailure() {
        var lease = Lease()
        _ = lease.linkMade(stopTimer: 1)
        let next = lease.linkMade(stopTimer: 2)
        #expect(next.attach)
        #expect(next.replacedTimer == 1)
        #expect(!lease.isAttached)
    }

    @Test("left once no loopback link waits, with the stop timer cancelled; kept while one does")
    func leaveWhenIdle() {
        var lease = Lease()
        _ = lease.linkMade(stopTimer: 1)
        lease.attached()
        guard case .keep = lease.checkIdle(loopbackLinksWaiting: true) else {
            Issue.record("a waiting link keeps the listener")
            return
        }
        #expect(lease.isAttached)
        guard case .leave(stopTimer: 1) = lease.checkIdle(loopbackLinksWaiting: false) else {
            Issue.record("the listener is left, and the stop timer handed back to be cancelled")
            return
        }
        #expect(!lease.isAttached)
        #expect(lease.stopTimer == nil)
        guard case .keep = lease.checkIdle(loopbackLinksWaiting: false) else {
            Issue.record("a listener not held is not left twice")
            return
        }
    }

    @Test("shutting down hands back the timer and whether the listener was held")
    func end() {
        var lease = Lease()
        _ = lease.linkMade(stopTimer: 1)
        lease.attached()
        let ended = lease.end()
        #expect(ended.stopTimer == 1)
        #expect(ended.detach)
        #expect(!lease.isAttached)
        let again = lease.end()
        #expect(again.stopTimer == nil)
        #expect(!again.detach)
    }
}

@Suite("step-up authorizations")
struct StepUpAuthorizationsTests {
    @Test("each scope set is asked for a bounded number of times; past it, the scope is not asked for")
    func boundedAttempts() {
        var stepUps = StepUpAuthorizations()
        let first = stepUps.attempt("mcp admin", for: "alice", limit: 2)
        #expect(first == 1)
        #expect(stepUps.scope(for: "alice") == "mcp admin")
        let second = stepUps.attempt("mcp admin", for: "alice", limit: 2)
        #expect(second == 2)
        let third = stepUps.attempt("mcp admin", for: "alice", limit: 2)
        #expect(third == nil)
        let other = stepUps.attempt("mcp write", for: "alice", limit: 2)
        #expect(other == 1, "another scope set is counted on its own")
        let bob = stepUps.attempt("mcp admin", for: "bob", limit: 2)
        #expect(bob == 1, "and so is another user")
    }

    @Test("the step-up ends when granted tokens cover its scopes, or when settled")
    func grantedOrSettled() {
        var stepUps = StepUpAuthorizations()
        _ = stepUps.attempt("mcp admin", for: "alice", limit: 2)
        stepUps.granted(["mcp"], to: "alice")
        #expect(stepUps.scope(for: "alice") == "mcp admin", "not covered yet")
        stepUps.granted(["mcp", "admin", "offline_access"], to: "alice")
        #expect(stepUps.scope(for: "alice") == nil)
        _ = stepUps.attempt("mcp", for: nil, limit: 2)
        stepUps.settled(for: nil)
        #expect(stepUps.scope(for: nil) == nil)
    }

    @Test("a forgotten user starts counting again")
    func forget() {
        var stepUps = StepUpAuthorizations()
        _ = stepUps.attempt("admin", for: "alice", limit: 1)
        let refused = stepUps.attempt("admin", for: "alice", limit: 1)
        #expect(refused == nil)
        stepUps.forget("alice")
        #expect(stepUps.scope(for: "alice") == nil)
        let fresh = stepUps.attempt("admin", for: "alice", limit: 1)
        #expect(fresh == 1)
    }
}

@Suite("OAuth event fan-out")
struct OAuthEventFanOutTests {
    @Test("every open stream gets each event; a removed one no longer does; finishing ends them all")
    func fanOut() async {
        var fanOut = OAuthEventFanOut()
        let (first, firstEnd) = AsyncStream<OAuthEvent>.makeStream()
        let (second, secondEnd) = AsyncStream<OAuthEvent>.makeStream()
        _ = fanOut.add(firstEnd)
        let secondID = fanOut.add(secondEnd)
        fanOut.emit(.authorized(user: "alice"))
        fanOut.remove(secondID)
        secondEnd.finish()
        fanOut.emit(.signedOut(user: "alice"))
        fanOut.finishAll()
        fanOut.emit(.sessionExpired(user: "alice"))  // goes nowhere: every stream ended
        var firstEvents: [OAuthEvent] = []
        for await event in first { firstEvents.append(event) }
        var secondEvents: [OAuthEvent] = []
        for await event in second { secondEvents.append(event) }
        #expect(firstEvents == [.authorized(user: "alice"), .signedOut(user: "alice")])
        #expect(secondEvents == [.authorized(user: "alice")])
    }
}
