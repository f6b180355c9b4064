import Testing

@testable import MCPOIdentity

/// The key cache's rules as value transitions: no I/O, instants made from one start.
@Suite("when an issuer's keys are fetched")
struct KeySetStateTests {
    typealias State = KeySetState<String>
    let start = ContinuousClock.now

    func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    func isFetch(_ need: State.Need) -> Bool {
        if case .fetch = need { return true }
        return false
    }

    func isAwait(_ need: State.Need) -> Bool {
        if case .awaitFetch = need { return true }
        return false
    }

    func used(_ need: State.Need) -> String? {
        if case .use(let keys) = need { return keys }
        return nil
    }

    func refusal(_ need: State.Need) -> String? {
        if case .refuse(let reason) = need { return reason }
        return nil
    }

    @Test("fetched on first need, used while fresh, fetched again once stale")
    func freshness() {
        var state = State()
        #expect(isFetch(state.need(known: false, at: at(0))))
        state.fetchStarted(at: at(0))
        state.fetched("keys-1", maxAge: .seconds(600), at: at(0))
        #expect(used(state.need(known: true, at: at(599))) == "keys-1")
        #expect(isFetch(state.need(known: true, at: at(600))))
        #expect(state.isUp)
    }

    @Test("while a fetch is under way every token that needs keys waits for it; fresh keys are used meanwhile")
    func oneFetchAtATime() {
        var state = State()
        state.fetchStarted(at: at(0))
        #expect(isAwait(state.need(known: false, at: at(0))), "a second fetch would start")
        state.fetched("k", maxAge: .seconds(600), at: at(1))
        state.fetchStarted(at: at(20))
        #expect(used(state.need(known: true, at: at(20))) == "k")
        #expect(isAwait(state.need(known: false, at: at(20))), "an unknown kid does not wait")
        state.fetchFailed("down")
        #expect(refusal(state.need(known: false, at: at(21))) == "the token names an unknown key")
    }

    @Test("Cache-Control max-age is bounded to 5 minutes … 24 hours; without one, an hour")
    func bounds() {
        var short = State()
        short.fetched("k", maxAge: .seconds(10), at: at(0))
        #expect(used(short.need(known: true, at: at(299))) == "k")
        #expect(isFetch(short.need(known: true, at: at(300))))

        var long = State()
        long.fetched("k", maxAge: .seconds(10_000_000), at: at(0))
        #expect(used(long.need(known: true, at: at(86_399))) == "k")
        #expect(isFetch(long.need(known: true, at: at(86_400))))

        var none = State()
        none.fetched("k", maxAge: nil, at: at(0))
        #expect(used(none.need(known: true, at: at(3_599))) == "k")
        #expect(isFetch(none.need(known: true, at: at(3_600))))
    }

    @Test("an unknown kid fetches again at most once per 10 s")
    func unknownKeyID() {
        var state = State()
        state.fetchStarted(at: at(0))
        state.fetched("k", maxAge: .seconds(3600), at: at(0))
        #expect(refusal(state.need(known: false, at: at(5))) == "the token names an unknown key")
        #expect(isFetch(state.need(known: false, at: at(10))))
        state.fetchStarted(at: at(10))
        state.fetched("k2", maxAge: .seconds(3600), at: at(10))
        #expect(refusal(state.need(known: false, at: at(19))) != nil, "a flood of forged kids fetches nothing")
        #expect(isFetch(state.need(known: false, at: at(20))))
    }

    @Test("a provider that cannot be reached: refused with the reason, tried again after 10 s; stale keys keep working")
    func providerDown() {
        var state = State()
        state.fetchStarted(at: at(0))
        state.fetchFailed("GET … answered 503")
        #expect(!state.isUp)
        #expect(refusal(state.need(known: false, at: at(3)))?.contains("answered 503") == true)
        #expect(isFetch(state.need(known: false, at: at(10))))
        state.fetchStarted(at: at(10))
        state.fetched("k", maxAge: .seconds(300), at: at(10))
        #expect(state.isUp)
        #expect(state.lastError == nil)

        state.fetchStarted(at: at(400))
        state.fetchFailed("GET … answered 503")
        #expect(used(state.need(known: true, at: at(405))) == "k", "stale keys verify while the provider is away")
        #expect(state.isUp)
        #expect(state.lastError != nil)
    }

    @Test("Cache-Control is read for max-age; no-cache and no-store are zero; nothing else counts")
    func cacheControl() {
        #expect(State.maxAge(cacheControl: "public, max-age=600") == .seconds(600))
        #expect(State.maxAge(cacheControl: "Max-Age=42") == .seconds(42))
        #expect(State.maxAge(cacheControl: "no-store") == .zero)
        #expect(State.maxAge(cacheControl: "no-cache, max-age=600") == .zero)
        #expect(State.maxAge(cacheControl: "max-age=-1") == nil)
        #expect(State.maxAge(cacheControl: "private") == nil)
        #expect(State.maxAge(cacheControl: nil) == nil)
    }
}
