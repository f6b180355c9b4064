import Foundation
import Testing

@testable import MCPOIdentity

@Suite("verified token cache")
struct VerifiedTokensTests {
    let identity = CallerIdentity(credential: .token(issuer: "i", subject: "s"), user: "s", scopes: .everything)

    @Test("a token is remembered until its expiry, then forgotten")
    func untilExpiry() {
        let cache = VerifiedTokens()
        let now = Date(timeIntervalSince1970: 1_000_000)
        cache.remember("a.b.c", as: identity, until: now.addingTimeInterval(60))
        #expect(cache.identity(of: "a.b.c", now: now) == identity)
        #expect(cache.identity(of: "a.b.d", now: now) == nil)
        #expect(cache.identity(of: "a.b.c", now: now.addingTimeInterval(60)) == nil)
        #expect(cache.count == 0, "an expired entry is dropped when met")
    }

    @Test("beyond its capacity the oldest tokens go first")
    func bounded() {
        let cache = VerifiedTokens(capacity: 100)
        let later = Date().addingTimeInterval(3600)
        for index in 0..<250 { cache.remember("token-\(index)", as: identity, until: later) }
        #expect(cache.count <= 100)
        #expect(cache.identity(of: "token-249") != nil)
        #expect(cache.identity(of: "token-0") == nil)
    }

    @Test("long tokens are bounded by their bytes too")
    func byteBudget() {
        let cache = VerifiedTokens(capacity: 1_000, byteBudget: 10_000)
        let later = Date().addingTimeInterval(3600)
        for index in 0..<50 {
            cache.remember(
                String(repeating: "x", count: 995) + String(format: "%05d", index), as: identity, until: later)
        }
        #expect(cache.count <= 10)
        #expect(cache.identity(of: String(repeating: "x", count: 995) + "00049") != nil)
        #expect(cache.identity(of: String(repeating: "x", count: 995) + "00000") == nil)
    }
}
