import Foundation
import JSONValue
import TestSupport
import Testing

/// Replicas serving the OAuth fixture's protected server as `secure`, their OAuth state shared through a real
/// PostgreSQL. Behind a balancer every replica sends browsers to one public callback; nothing listens there here:
/// the test carries each callback to the replica it chooses.
struct OAuthReplicas {
    static let storeKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

    let postgres: PostgresServer
    let fixture: OAuthFixtureServers
    let publicCallback: String
    let configFile: String

    /// A PostgreSQL, the fixture (with `fixtureFlags`) and the config file (`secure` with `oauth` plus `extra`); all
    /// stopped and removed afterwards, whatever `body` does.
    static func with(
        fixtureFlags: [String] = [], oauth extra: OrderedJSONObject = [:], _ body: (OAuthReplicas) async throws -> Void
    ) async throws {
        try await ReplicaTests.withPostgres { postgres in
            let fixture = try await OAuthFixtureServers.start(fixtureFlags)
            do {
                let publicCallback = "http://127.0.0.1:\(try FixturePorts.reserve())/oauth/secure/callback"
                var oauth: OrderedJSONObject = [
                    "server_url": .string(fixture.mcpURL), "use_loopback": false,
                    "redirect_uri": .string(publicCallback),
                ]
                for (key, value) in extra { oauth[key] = value }
                let secure: JSON = ["type": "streamable-http", "url": .string(fixture.mcpURL), "oauth": .object(oauth)]
                let file = try ReplicaTests.write(
                    #"{"store": "\#(postgres.url())", "mcpServers": {"secure": \#(secure.text)}}"#, in: postgres.folder)
                try await body(
                    OAuthReplicas(
                        postgres: postgres, fixture: fixture, publicCallback: publicCallback, configFile: file))
            } catch {
                await fixture.stop()
                throw error
            }
            await fixture.stop()
        }
    }

    /// Replicas named a, b, c, … with the store key, started one after the other; stopped after `body`.
    func withReplicas(_ count: Int, _ body: ([ProxyProcess]) async throws -> Void) async throws {
        var replicas: [ProxyProcess] = []
        do {
            for name in ["a", "b", "c", "d"].prefix(count) {
                replicas.append(
                    try await ProxyProcess.start(
                        ["--config", configFile],
                        environment: ["MCPO_STORE_KEY": Self.storeKey, "MCPO_REPLICA": name]))
            }
            try await body(replicas)
        } catch {
            await ReplicaTests.stopAll(replicas)
            throw error
        }
        await ReplicaTests.stopAll(replicas)
    }

    /// A browser opens `link` (with `headers`) and its callback lands on `replica`, which completes the authorization.
    func completeAuthorization(link: String, on replica: ProxyProcess, headers: [(String, String)] = []) async throws
        -> HTTPReply
    {
        let visit = try await RedirectBrowser.open(link, headers: headers, stopAt: { $0.hasPrefix(publicCallback) })
        let callback = try #require(visit.hops.last)
        #expect(callback.hasPrefix(publicCallback + "?"), "\(visit.hops)")
        return try await TestHTTP.get(
            replica, "/oauth/secure/callback" + callback.dropFirst(publicCallback.count), headers: headers)
    }

    /// Refresh tokens sent to the authorization server, in order.
    func refreshTokensSent() async throws -> [String] {
        try await fixture.requests("as", "POST", "/token").compactMap {
            $0["form"]?["grant_type"] == "refresh_token" ? $0["form"]?["refresh_token"]?.stringValue : nil
        }
    }

    static func whoami(_ replica: ProxyProcess, headers: [(String, String)] = []) async throws -> HTTPReply {
        try await TestHTTP.post(replica, "/secure/whoami", headers: headers)
    }

    static func state(of replica: ProxyProcess) async -> JSON? {
        try? await TestHTTP.get(replica, "/readyz").json?["servers"]?["secure"]?["state"]
    }
}

/// OAuth with replicas: flows, refreshes and revocations across them, no sticky sessions.
@Suite("OAuth across replicas sharing PostgreSQL", .serialized)
struct ReplicaOAuthTests {
    @Test("a flow started on one replica completes on another; one refresh for all; a revocation seen by all")
    func flowRefreshAndRevocation() async throws {
        try await OAuthReplicas.with { setup in
            // Without the key that seals the tokens, a replica refuses to start and says what it needs.
            do {
                let unkeyed = try await ProxyProcess.start(["--config", setup.configFile])
                await unkeyed.stop()
                Issue.record("a replica started without MCPO_STORE_KEY")
            } catch {
                #expect("\(error)".contains("MCPO_STORE_KEY"), "\(error)")
            }
            try await setup.withReplicas(2) { replicas in
                let (a, b) = (replicas[0], replicas[1])
                for replica in replicas {
                    #expect(await pollUntil { await OAuthReplicas.state(of: replica) == "awaiting_authorization" })
                }
                // The link comes from a; the browser's callback lands on b, which completes it.
                let link = try #require(
                    try await TestHTTP.get(a, "/oauth/secure/status").json?["authorization_url"]?.stringValue)
                let onB = try await setup.completeAuthorization(link: link, on: b)
                #expect(onB.status == 200 && onB.text.contains("Authorization Successful!"), "\(onB.text)")
                for replica in replicas {
                    #expect(
                        await pollUntil { (try? await OAuthReplicas.whoami(replica))?.json?["sub"] == "alice" },
                        "authorized on every replica")
                }
                let stored = try await setup.postgres.psql("SELECT encode(sealed, 'escape') FROM oauth_tokens")
                for token in Set(try await setup.fixture.log().compactMap { $0["authorization"]?.stringValue }) {
                    #expect(!stored.contains(token.replacingOccurrences(of: "Bearer ", with: "")))
                }

                // The server refuses the token on both: one refresh across the replicas (the refresh token rotates,
                // so a second would be refused), both answer.
                #expect(try await setup.refreshTokensSent().isEmpty)
                try await setup.fixture.admin("/_admin/expire_all")
                async let first = OAuthReplicas.whoami(a)
                async let second = OAuthReplicas.whoami(b)
                let (one, two) = try await (first, second)
                #expect(one.json?["sub"] == "alice", "\(one.text)")
                #expect(two.json?["sub"] == "alice", "\(two.text)")
                #expect(try await setup.refreshTokensSent().count == 1)

                // Revoked: the replica that meets it drops the tokens, and the other knows at once.
                try await setup.fixture.admin("/_admin/revoke_all")
                let revoked = try await OAuthReplicas.whoami(a)
                #expect(revoked.status == 401, "\(revoked.text)")
                #expect(
                    await pollUntil(within: .seconds(30)) {
                        (try? await TestHTTP.get(b, "/oauth/secure/status"))?.json?["authenticated"] == false
                    }, "b still holds the revoked tokens")
                let onBAfter = try await OAuthReplicas.whoami(b)
                #expect(onBAfter.status == 401, "\(onBAfter.text)")
                #expect(
                    try await setup.refreshTokensSent().count == 2, "b did not try the refresh token a found refused")
            }
        }
    }

    @Test("multi-user: signed in through one replica, called through the two others; a forged session refused")
    func multiUser() async throws {
        try await OAuthReplicas.with(oauth: ["multi_user": true]) { setup in
            try await setup.withReplicas(3) { replicas in
                // The session starts on a (its cookie), the browser's callback lands on b with that cookie.
                let visit = try await TestHTTP.get(
                    replicas[0], "/oauth/secure/authorize", headers: [("Accept", "text/html")])
                #expect(visit.status == 302, "\(visit.text)")
                let setCookie = try #require(visit.header("set-cookie"))
                let session = String(setCookie.dropFirst("mcpo_session=".count).prefix { $0 != ";" })
                let cookie = ("Cookie", "mcpo_session=" + session)
                let location = try #require(visit.header("location"))
                let onB = try await setup.completeAuthorization(link: location, on: replicas[1], headers: [cookie])
                #expect(onB.status == 200 && onB.text.contains("Authorization Successful!"), "\(onB.text)")
                for replica in replicas[1...] {
                    #expect(
                        await pollUntil {
                            (try? await OAuthReplicas.whoami(replica, headers: [cookie]))?.json?["sub"] == "alice"
                        }, "the user's session and tokens hold on the other replicas")
                }
                let forged = (
                    "Cookie", "mcpo_session=" + TestJWT.make(["sub": "mallory", "exp": 4_102_444_800], key: "guess")
                )
                #expect(try await OAuthReplicas.whoami(replicas[2], headers: [forged]).status == 401)
            }
        }
    }

    @Test("60 calls at a time through nginx over three replicas, across three token expiries, one refresh each")
    func underLoad() async throws {
        try await OAuthReplicas.with(fixtureFlags: ["--token-lifetime", "6"]) { setup in
            try await setup.withReplicas(3) { replicas in
                let nginx = try await NginxBalancer.start(backends: replicas.map(\.port))
                do {
                    let link = try #require(
                        try await TestHTTP.get(replicas[0], "/oauth/secure/status").json?["authorization_url"]?
                            .stringValue)
                    let done = try await setup.completeAuthorization(link: link, on: replicas[2])
                    #expect(done.status == 200, "\(done.text)")
                    for replica in replicas {
                        #expect(
                            await pollUntil { await OAuthReplicas.state(of: replica) == "connected" },
                            "every replica connects once the user authorized through one")
                    }
                    var failures: [String] = []
                    var waves = 0
                    let expiries = await pollUntil(within: .seconds(180), every: .milliseconds(100)) {
                        waves += 1
                        failures += await Self.wave(of: 60, through: nginx)
                        return failures.isEmpty ? ((try? await setup.refreshTokensSent().count) ?? 0) >= 3 : true
                    }
                    #expect(expiries, "three expiries within the bound (\(waves) waves)")
                    #expect(failures.isEmpty, "\(failures.prefix(5))")
                    let sent = try await setup.refreshTokensSent()
                    #expect(Set(sent).count == sent.count, "a rotated refresh token was sent twice")
                    let tokensSeen = Set(
                        try await setup.fixture.log().compactMap { entry -> String? in
                            entry["server"] == "rs" ? entry["authorization"]?.stringValue : nil
                        })
                    #expect(tokensSeen.count == sent.count + 1, "one access token per refresh, and the first")
                } catch {
                    await nginx.stop()
                    throw error
                }
                await nginx.stop()
            }
        }
    }

    @Test("device authorization: one code whichever replica is asked, approved once, authorized on every replica")
    func deviceGrant() async throws {
        try await OAuthReplicas.with(oauth: ["grant": "device_code"]) { setup in
            try await setup.withReplicas(2) { replicas in
                var codes: [String] = []
                for replica in replicas {
                    #expect(await pollUntil { await OAuthReplicas.state(of: replica) == "awaiting_authorization" })
                    let status = try await TestHTTP.get(replica, "/oauth/secure/status")
                    #expect(status.json?["state"] == "pending", "\(status.text)")
                    codes.append(try #require(status.json?["user_code"]?.stringValue))
                }
                #expect(codes[0] == codes[1], "the second replica shows the code the first one got")
                #expect(try await setup.fixture.requests("as", "POST", "/device_authorization").count == 1)
                let refused = try await OAuthReplicas.whoami(replicas[1])
                #expect(refused.status == 401 && refused.json?["user_code"]?.stringValue == codes[0], "\(refused.text)")
                let approved = try await setup.fixture.get(
                    setup.fixture.asOrigin + "/device?user_code=\(codes[0])&login_hint=dave")
                #expect(approved.status == 200)
                for replica in replicas {
                    #expect(
                        await pollUntil { (try? await OAuthReplicas.whoami(replica))?.json?["sub"] == "dave" },
                        "authorized on every replica: \(replica.logText)")
                }
                #expect(try await setup.postgres.psql("SELECT count(*) FROM oauth_device") == "0", "the code is spent")
            }
        }
    }

    /// `count` calls at once through the balancer; what went wrong with any of them.
    static func wave(of count: Int, through nginx: NginxBalancer) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for index in 0..<count {
                group.addTask {
                    let reply = try? await TestHTTP.request(.POST, nginx.baseURL + "/secure/whoami")
                    guard let reply, reply.status == 200, reply.json?["sub"] == "alice" else {
                        return "call \(index): \(reply.map { "\($0.status) \($0.text.prefix(120))" } ?? "no answer")"
                    }
                    return nil
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
    }
}
