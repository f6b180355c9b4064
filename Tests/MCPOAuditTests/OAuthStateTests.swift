import Foundation
import JSONValue
import MCPOAuth
import MCPOConfig
import Synchronization
import TestSupport
import Testing

@testable import MCPOAudit

/// The OAuth state replicas share through a real PostgreSQL: sealed at rest, requests used once, refreshes one at a
/// time, changes announced to the other replicas, one session key for all.
@Suite("OAuth state in PostgreSQL")
struct OAuthStateTests {
    static let key = StoreKey(base64: Data((0..<32).map { UInt8($0) }).base64EncodedString())!  // 32 bytes: valid
    static let otherKey = StoreKey(base64: Data(repeating: 7, count: 32).base64EncodedString())!  // 32 bytes: valid

    /// Two replicas' views of one fresh database.
    static func withReplicas(_ body: (PostgresOAuthState, PostgresOAuthState, PostgresServer) async throws -> Void)
        async throws
    {
        let server = try await PostgresServer.start()
        let first = try await PostgresStore.open(url: server.url(), logger: quietLogger)
        let second = try await PostgresStore.open(url: server.url(), logger: quietLogger)
        do {
            try await body(
                PostgresOAuthState(store: first, key: key), PostgresOAuthState(store: second, key: key), server)
        } catch {
            await first.close()
            await second.close()
            await server.remove()
            throw error
        }
        await first.close()
        await second.close()
        await server.remove()
    }

    static func tokens(_ access: String) -> OAuthTokens {
        OAuthTokens(
            accessToken: access, refreshToken: "refresh-" + access, scope: "mcp",
            expiresAt: Date().addingTimeInterval(3600),
            issuer: "https://as.example", resource: "https://rs.example/mcp", clientID: "client-1")
    }

    @Test("tokens and registrations: shared, sealed at rest (no secret readable in the database), per user")
    func tokensSealed() async throws {
        try await Self.withReplicas { one, two, server in
            try await one.saveTokens(Self.tokens("access-alice"), server: "secure", user: "alice")
            try await one.saveTokens(Self.tokens("access-proxy"), server: "secure", user: nil)
            #expect(try await two.loadTokens(server: "secure", user: "alice")?.accessToken == "access-alice")
            #expect(try await two.loadTokens(server: "secure", user: nil)?.accessToken == "access-proxy")
            #expect(try await two.loadTokens(server: "secure", user: "bob") == nil)
            let raw = try await server.psql("SELECT encode(sealed, 'escape') FROM oauth_tokens")
            #expect(!raw.contains("access-alice") && !raw.contains("refresh-access-alice"))
            try await two.deleteTokens(server: "secure", user: "alice")
            #expect(try await one.loadTokens(server: "secure", user: "alice") == nil)

            let registration = ClientRegistration(
                clientID: "client-1", clientSecret: "very-secret", authMethod: .clientSecretPost,
                issuer: "https://as.example", redirectURIs: ["http://127.0.0.1/cb"], grantTypes: ["authorization_code"],
                source: .dynamic)
            try await one.saveClients([registration], server: "secure")
            #expect(try await two.loadClients(server: "secure") == [registration])
            #expect(
                !(try await server.psql("SELECT encode(sealed, 'escape') FROM oauth_clients")).contains("very-secret"))

            // Another key opens nothing, and says why; a sealed value moved to another row does not open either.
            let stranger = PostgresOAuthState(
                store: try await PostgresStore.open(url: server.url(), logger: quietLogger), key: Self.otherKey)
            await #expect(throws: OAuthError.self) { try await stranger.loadTokens(server: "secure", user: nil) }
            _ = try await server.psql(
                "INSERT INTO oauth_tokens SELECT server, 'u:mallory', sealed, updated_ms FROM oauth_tokens WHERE user_key = ''"
            )
            await #expect(throws: OAuthError.self) { try await one.loadTokens(server: "secure", user: "mallory") }
        }
    }

    @Test("an authorization request started on one replica is taken once, on any")
    func pendingOnce() async throws {
        try await Self.withReplicas { one, two, server in
            let pending = try #require(
                PendingAuthorization(json: [
                    "state": .string("state-\(UUID().uuidString)"), "verifier": "verifier-secret",
                    "issuer": "https://as.example",
                    "issParameterSupported": true, "redirectURI": "http://127.0.0.1:1/oauth/secure/callback",
                    "resource": "https://rs.example/mcp", "clientID": "client-1", "url": "https://as.example/authorize",
                    "createdAt": 1_796_000_000, "expiresAt": .double(Date().timeIntervalSince1970 + 600),
                    "user": "alice",
                    "scope": "mcp",
                ]))
            try await one.savePending(pending, server: "secure")
            #expect(
                !(try await server.psql("SELECT encode(sealed, 'escape') FROM oauth_pending")).contains(
                    "verifier-secret"))
            #expect(try await two.takePending(state: pending.state, server: "other") == nil, "another server's")
            let taken = try #require(try await two.takePending(state: pending.state, server: "secure"))
            #expect(taken.json == pending.json)
            #expect(try await one.takePending(state: pending.state, server: "secure") == nil, "used once")
        }
    }

    @Test("refreshes of one user run one at a time across replicas; other users' do not wait")
    func refreshLock() async throws {
        try await Self.withReplicas { one, two, server in
            let inside = Overlap()
            let entered = AsyncStream.makeStream(of: Void.self)
            let release = AsyncStream.makeStream(of: Void.self)
            // The first holds the lock until told; meanwhile another user's refresh runs; then the second enters.
            let first = Task {
                try await one.exclusively(.refresh(server: "secure", user: "alice")) { () async throws(OAuthError) in
                    inside.enter()
                    entered.continuation.yield()
                    for await _ in release.stream { break }
                    inside.leave()
                }
            }
            for await _ in entered.stream { break }
            let other = try await two.exclusively(.refresh(server: "secure", user: "bob")) {
                () async throws(OAuthError) in "bob"
            }
            #expect(other == "bob")
            let second = Task {
                try await two.exclusively(.refresh(server: "secure", user: "alice")) { () async throws(OAuthError) in
                    inside.enter()
                    inside.leave()
                }
            }
            // The second waits in PostgreSQL for the lock the first holds.
            #expect(
                try await pollUntil {
                    try await server.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                        == "1"
                })
            #expect(inside.most == 1)
            release.continuation.yield()
            try await first.value
            try await second.value
            #expect(inside.most == 1)
            // What the body throws comes out as it was.
            await #expect(throws: OAuthError.transport("refused")) {
                try await one.exclusively(.registration(server: "secure")) { () async throws(OAuthError) -> Int in
                    throw .transport("refused")
                }
            }
        }
    }

    @Test(
        "tokens saved or deleted on one replica are announced to the others, not to itself; listening starts with 'everything'"
    )
    func announcements() async throws {
        try await Self.withReplicas { one, two, _ in
            let heardByTwo = Heard(two.tokenChanges())
            let heardByOne = one.tokenChanges()
            // The listener is up once an announcement made after it started arrives; until then, announce again.
            var first: TokenChange?
            #expect(await heardByTwo.next(within: .seconds(60)) == .everything, "once listening, read everything")
            for _ in 0..<60 where first == nil {
                try await one.saveTokens(Self.tokens("t0"), server: "warmup", user: nil)
                first = await heardByTwo.next(within: .seconds(1))
            }
            #expect(first == TokenChange(server: "warmup", user: nil))
            try await one.saveTokens(Self.tokens("t1"), server: "secure", user: "alice")
            #expect(
                await heardByTwo.next(within: .seconds(60), skipping: "warmup")
                    == TokenChange(server: "secure", user: "alice"))
            try await one.deleteTokens(server: "secure", user: "alice")
            #expect(
                await heardByTwo.next(within: .seconds(60), skipping: "warmup")
                    == TokenChange(server: "secure", user: "alice"))
            one.close()
            var ownHeard = 0
            for await change in heardByOne where change != .everything { ownHeard += 1 }
            #expect(ownHeard == 0, "a replica is not told of its own changes")
            two.close()
        }
    }

    @Test("the session key is made once and is the same on every replica")
    func sharedSecret() async throws {
        try await Self.withReplicas { one, two, server in
            let (a, b) = try await (one.sharedSecret(named: "session-key"), two.sharedSecret(named: "session-key"))
            #expect(a == b)
            #expect(a.count == 32)
            #expect(try await one.sharedSecret(named: "session-key") == a)
            #expect(try await server.psql("SELECT count(*) FROM store_secrets") == "1")
        }
    }
}

/// Counts bodies running at once, and the most ever.
final class Overlap: Sendable {
    private let state = Mutex((now: 0, most: 0))

    func enter() {
        state.withLock { state in
            state.now += 1
            state.most = max(state.most, state.now)
        }
    }

    func leave() { state.withLock { $0.now -= 1 } }

    var most: Int { state.withLock { $0.most } }
}

/// Announcements as they arrive, read one at a time with a bound (a missing one is nil, not a hang).
actor Heard {
    private var received: [TokenChange] = []
    private var waiter: CheckedContinuation<Void, Never>?
    private var reader: Task<Void, Never>?

    init(_ stream: AsyncStream<TokenChange>) {
        let reader = Task { [weak self] in
            for await change in stream { await self?.add(change) }
        }
        Task { await self.keep(reader) }
    }

    private func keep(_ task: Task<Void, Never>) { reader = task }

    private func add(_ change: TokenChange) {
        received.append(change)
        waiter?.resume()
        waiter = nil
    }

    /// The next change not about `skipped` (the warm-up's announcements may still be arriving).
    func next(within bound: Duration, skipping skipped: String) async -> TokenChange? {
        while let change = await next(within: bound) {
            if change.server != skipped { return change }
        }
        return nil
    }

    func next(within bound: Duration) async -> TokenChange? {
        if received.isEmpty {
            let timer = Task { [weak self] in
                try? await Task.sleep(for: bound)
                await self?.wake()
            }
            await withCheckedContinuation { waiter = $0 }
            timer.cancel()
        }
        return received.isEmpty ? nil : received.removeFirst()
    }

    private func wake() {
        waiter?.resume()
        waiter = nil
    }
}
