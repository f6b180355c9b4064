import Foundation
import JSONValue
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Several proxies sharing a real PostgreSQL (started by the test), behind a real nginx: the audit log and the pins
/// are one for all, replicas start together on an empty database, and neither a replica killed nor PostgreSQL
/// stopped stops the calls.
@Suite("replicas sharing PostgreSQL", .serialized)
struct ReplicaTests {
    static let key = "replica-key"
    static let bearer = [("Authorization", "Bearer " + key)]

    static func config(store: String, drift: String = "v1", required: Bool = false, pins: Bool = true) -> String {
        let server = PythonLine.mcp1.fastMCPServer
        return """
            {"store": "\(store)", "audit": {"required": \(required)},
             "auth": {"apiKeys": [{"name": "ops", "key": "\(key)", "scopes": ["*"]}]},
             "mcpServers": {"fast": {"command": "\(server[0])", "args": ["\(server[1])"],
                                     "env": {"FIXTURE_DRIFT": "\(drift)"}, "pinTools": "\(pins ? "block" : "off")"}}}
            """
    }

    /// Starts `count` replicas at once (named r1, r2, …) and waits until each serves the fast server.
    static func startReplicas(_ count: Int, config file: String) async throws -> [ProxyProcess] {
        let replicas = try await withThrowingTaskGroup(of: ProxyProcess.self) { group in
            for index in 1...count {
                group.addTask {
                    try await ProxyProcess.start(
                        ["--config", file, "--startup-timeout", "120"], environment: ["MCPO_REPLICA": "r\(index)"])
                }
            }
            var started: [ProxyProcess] = []
            for try await replica in group { started.append(replica) }
            return started
        }
        for replica in replicas {
            #expect(
                try await pollUntil(within: .seconds(120)) {
                    try await TestHTTP.get(replica, "/readyz").json?["servers"]?["fast"]?["state"] == "connected"
                }, "\(replica.logText)")
        }
        return replicas.sorted { $0.port < $1.port }
    }

    static func write(_ text: String, in folder: String) throws -> String {
        let file = folder + "/mcp.json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    static func withPostgres<T>(_ body: (PostgresServer) async throws -> T) async throws -> T {
        let server = try await PostgresServer.start()
        do {
            let result = try await body(server)
            await server.remove()
            return result
        } catch {
            await server.remove()
            throw error
        }
    }

    static func stopAll(_ replicas: [ProxyProcess]) async {
        for replica in replicas { await replica.stop() }
    }

    @Test("three replicas started at once behind nginx: one audit log, calls answered right, a pin approved on one")
    func sharedLogAndPins() async throws {
        try await Self.withPostgres { postgres in
            let folder = postgres.folder
            let file = try Self.write(Self.config(store: postgres.url()), in: folder)
            let replicas = try await Self.startReplicas(3, config: file)
            let balancer = try await NginxBalancer.start(backends: replicas.map(\.port))
            do {
                #expect(try await postgres.psql("SELECT max(version) FROM mcpo_schema") == "2", "migrated once")
                // 30 calls through the balancer, 10 at a time: each answers its own text.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<30 {
                        group.addTask {
                            let reply = try await TestHTTP.request(
                                .POST, balancer.baseURL + "/fast/echo",
                                body: JSON.object(["text": .string("call \(index)")]).bytes,
                                headers: Self.bearer)
                            #expect(reply.status == 200, "\(reply.text)")
                            #expect(reply.json == .string("call \(index)"))
                        }
                        if index % 10 == 9 { try await group.waitForAll() }
                    }
                    try await group.waitForAll()
                }
                // Every replica reads the whole log, each record naming the replica that answered.
                #expect(
                    try await pollUntil {
                        try await TestHTTP.get(replicas[0], "/audit/stats", headers: Self.bearer).json?["totalCalls"]
                            == 30
                    })
                let log = try await TestHTTP.get(replicas[2], "/audit?tool=echo&limit=1000", headers: Self.bearer)
                let served = Set((log.json?["records"]?.arrayValue ?? []).compactMap { $0["replica"]?.stringValue })
                #expect(served == ["r1", "r2", "r3"], "round robin over the three")
                // The command line reads the same log, from the config file's store.
                let cli = try await ProcessRunner.run(
                    TestPaths.mcpo, ["audit", "--config", file, "--tool", "echo", "--json"])
                #expect(cli.status == 0, "\(cli.output)")
                #expect(cli.output.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }.count == 30)
            } catch {
                await balancer.stop()
                await Self.stopAll(replicas)
                throw error
            }
            await balancer.stop()
            await Self.stopAll(replicas)

            // The server changes a tool; the replicas block it; one approval (on r1) frees it on all within a bound.
            _ = try Self.write(Self.config(store: postgres.url(), drift: "v2"), in: folder)
            let again = try await Self.startReplicas(3, config: file)
            do {
                for replica in again {
                    #expect(
                        try await TestHTTP.post(replica, "/fast/drifting", ["text": "x"], headers: Self.bearer).status
                            == 409)
                }
                let listed = try await ProcessRunner.run(
                    TestPaths.mcpo, ["pins", "list", "--server", "fast"], environment: ["MCPO_STORE": postgres.url()])
                #expect(listed.output.contains("drifting"), "\(listed.output)")
                let approval = try await TestHTTP.post(
                    again[0], "/pins/fast/drifting/approve", [:], headers: Self.bearer)
                #expect(approval.status == 200, "\(approval.text)")
                for replica in again {
                    #expect(
                        try await pollUntil(within: .seconds(30)) {
                            try await TestHTTP.post(replica, "/fast/drifting", ["text": "y"], headers: Self.bearer).json
                                == "v2:y"
                        }, "port \(replica.port)")
                }
            } catch {
                await Self.stopAll(again)
                throw error
            }
            await Self.stopAll(again)
        }
    }

    @Test("kill -9 of a replica under load: the others answer; every call answered has its record (audit.required)")
    func replicaKilled() async throws {
        try await Self.withPostgres { postgres in
            let file = try Self.write(Self.config(store: postgres.url(), required: true), in: postgres.folder)
            let replicas = try await Self.startReplicas(3, config: file)
            let balancer = try await NginxBalancer.start(backends: replicas.map(\.port))
            do {
                let answered = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for index in 0..<60 {
                        group.addTask {
                            let reply = try? await TestHTTP.request(
                                .POST, balancer.baseURL + "/fast/echo",
                                body: JSON.object(["text": .string("n\(index)")]).bytes,
                                headers: Self.bearer)
                            return (reply?.status ?? 0, reply?.header("x-request-id"))
                        }
                        if index == 20 { kill(replicas[1].process.processIdentifier, SIGKILL) }
                        if index % 8 == 7 { try await group.next().map { _ in () } }
                    }
                    var results: [(Int, String?)] = []
                    for try await result in group { results.append(result) }
                    return results
                }
                // Only calls in flight on the killed replica may fail; once it is gone nginx sends to the others.
                let failed = answered.filter { $0.0 != 200 }
                #expect(failed.count <= 8, "\(failed)")
                let after = try await TestHTTP.request(
                    .POST, balancer.baseURL + "/fast/echo", body: JSON.object(["text": "after"]).bytes,
                    headers: Self.bearer)
                #expect(after.status == 200)
                let ids = Set(answered.filter { $0.0 == 200 }.compactMap(\.1))
                let log = try await TestHTTP.get(replicas[0], "/audit?limit=1000", headers: Self.bearer)
                let recorded = Set((log.json?["records"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
                #expect(ids.isSubset(of: recorded), "answered without a record: \(ids.subtracting(recorded))")
            } catch {
                await balancer.stop()
                await Self.stopAll(replicas)
                throw error
            }
            await balancer.stop()
            await Self.stopAll(replicas)
        }
    }

    @Test("PostgreSQL stopped mid-run: calls go on, /readyz says so, the records held are written once it is back")
    func storeOutage() async throws {
        try await Self.withPostgres { postgres in
            let file = try Self.write(Self.config(store: postgres.url()), in: postgres.folder)
            let replicas = try await Self.startReplicas(1, config: file)
            let proxy = replicas[0]
            do {
                #expect(
                    try await TestHTTP.post(proxy, "/fast/echo", ["text": "before"], headers: Self.bearer).status == 200
                )
                #expect(try await TestHTTP.get(proxy, "/readyz").json?["store"]?["state"] == "up")
                await postgres.stop()
                for index in 0..<5 {
                    let reply = try await TestHTTP.post(
                        proxy, "/fast/echo", ["text": .string("during \(index)")], headers: Self.bearer)
                    #expect(reply.status == 200, "calls need no store write")
                }
                #expect(
                    try await pollUntil {
                        try await TestHTTP.get(proxy, "/readyz").json?["store"]?["state"] == "down"
                    })
                let ready = try await TestHTTP.get(proxy, "/readyz")
                #expect(ready.status == 200, "a store away does not make the proxy unready")
                #expect(ready.json?["store"]?["error"]?.stringValue?.isEmpty == false)
                try await postgres.launch()
                #expect(
                    try await TestHTTP.post(proxy, "/fast/echo", ["text": "after"], headers: Self.bearer).status == 200)
                #expect(
                    try await pollUntil(within: .seconds(90)) {
                        try await postgres.psql("SELECT count(*) FROM audit_records") == "7"
                    }, "before, five during, after")
                #expect(
                    try await pollUntil { try await TestHTTP.get(proxy, "/readyz").json?["store"]?["state"] == "up" })
            } catch {
                await Self.stopAll(replicas)
                throw error
            }
            await Self.stopAll(replicas)
        }
    }

    @Test(
        "PostgreSQL away at start: the proxy starts, /readyz says so, pinTools: block waits for the pins, warn serves")
    func storeAwayAtStart() async throws {
        try await Self.withPostgres { postgres in
            let blocking = try Self.write(Self.config(store: postgres.url()), in: postgres.folder)
            let warning = postgres.folder + "/warn.json"
            try Data(Self.config(store: postgres.url(), pins: false).utf8).write(to: URL(fileURLWithPath: warning))
            await postgres.stop()
            let replicas = try await Self.startReplicas(1, config: blocking) + Self.startReplicas(1, config: warning)
            let (blocked, serving) = (replicas[0], replicas[1])
            do {
                let refused = try await TestHTTP.post(blocked, "/fast/echo", ["text": "early"], headers: Self.bearer)
                #expect(refused.status == 503)
                #expect(refused.json?["detail"]?.stringValue?.contains("pinTools: block") == true, "\(refused.text)")
                #expect(
                    try await TestHTTP.post(serving, "/fast/echo", ["text": "early"], headers: Self.bearer).status
                        == 200)
                for replica in replicas {
                    let ready = try await TestHTTP.get(replica, "/readyz")
                    #expect(ready.status == 200)
                    #expect(
                        try await pollUntil {
                            try await TestHTTP.get(replica, "/readyz").json?["store"]?["state"] == "down"
                        })
                }
                try await postgres.launch()
                #expect(
                    try await pollUntil(within: .seconds(120)) {
                        try await TestHTTP.post(blocked, "/fast/echo", ["text": "late"], headers: Self.bearer).status
                            == 200
                    }, "the pins are read once the store is back")
                #expect(
                    try await pollUntil(within: .seconds(120)) {
                        (try? await postgres.psql("SELECT count(*) FROM audit_records WHERE outcome = 'ok'")) == "2"
                    }, "the records held since the start")
                for replica in replicas {
                    #expect(
                        try await pollUntil {
                            try await TestHTTP.get(replica, "/readyz").json?["store"]?["state"] == "up"
                        })
                }
            } catch {
                await Self.stopAll(replicas)
                throw error
            }
            await Self.stopAll(replicas)
        }
    }

    static let storeKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

    @Test(
        "OAuth across replicas: a flow started on one completes on another, one refresh for all, a revocation seen by all"
    )
    func oauthAcrossReplicas() async throws {
        try await Self.withPostgres { postgres in
            let fixture = try await OAuthFixtureServers.start()
            // Behind a balancer every replica sends browsers to the one public callback (nothing listens there here:
            // the test carries each callback to the replica it chooses).
            let publicCallback = "http://127.0.0.1:\(try FixturePorts.reserve())/oauth/secure/callback"
            let oauth: JSON = [
                "type": "streamable-http", "url": .string(fixture.mcpURL),
                "oauth": [
                    "server_url": .string(fixture.mcpURL), "use_loopback": false,
                    "redirect_uri": .string(publicCallback),
                ],
            ]
            let file = try Self.write(
                #"{"store": "\#(postgres.url())", "mcpServers": {"secure": \#(oauth.text)}}"#, in: postgres.folder)
            // Without the key that seals the tokens, a replica refuses to start and says what it needs.
            do {
                let unkeyed = try await ProxyProcess.start(["--config", file])
                await unkeyed.stop()
                Issue.record("a replica started without MCPO_STORE_KEY")
            } catch {
                #expect("\(error)".contains("MCPO_STORE_KEY"), "\(error)")
            }
            var replicas: [ProxyProcess] = []
            do {
                for name in ["a", "b"] {
                    replicas.append(
                        try await ProxyProcess.start(
                            ["--config", file], environment: ["MCPO_STORE_KEY": Self.storeKey, "MCPO_REPLICA": name]))
                }
                let (a, b) = (replicas[0], replicas[1])
                func secure(_ replica: ProxyProcess) async throws -> JSON? {
                    try await TestHTTP.get(replica, "/readyz").json?["servers"]?["secure"]
                }
                func whoami(_ replica: ProxyProcess) async throws -> HTTPReply {
                    try await TestHTTP.post(replica, "/secure/whoami")
                }
                func refreshes() async throws -> Int {
                    try await fixture.requests("as", "POST", "/token").filter {
                        $0["form"]?["grant_type"] == "refresh_token"
                    }.count
                }
                for replica in replicas {
                    #expect(await pollUntil { (try? await secure(replica))?["state"] == "awaiting_authorization" })
                }

                // The link comes from a; the browser's callback lands on b, which completes it.
                let link = try #require(
                    try await TestHTTP.get(a, "/oauth/secure/status").json?["authorization_url"]?.stringValue)
                let visit = try await RedirectBrowser.open(link, stopAt: { $0.hasPrefix(publicCallback) })
                let callback = try #require(visit.hops.last)
                #expect(callback.hasPrefix(publicCallback + "?"))
                let onB = try await TestHTTP.get(
                    b, "/oauth/secure/callback" + callback.dropFirst(publicCallback.count))
                #expect(onB.status == 200 && onB.text.contains("Authorization Successful!"), "\(onB.text)")
                for replica in replicas {
                    #expect(
                        await pollUntil { (try? await whoami(replica))?.json?["sub"] == "alice" },
                        "authorized on every replica")
                }
                let stored = try await postgres.psql("SELECT encode(sealed, 'escape') FROM oauth_tokens")
                for token in Set(try await fixture.log().compactMap { $0["authorization"]?.stringValue }) {
                    #expect(!stored.contains(token.replacingOccurrences(of: "Bearer ", with: "")))
                }

                // The server refuses the token on both: one refresh across the replicas (the refresh token rotates,
                // so a second would be refused), both answer.
                #expect(try await refreshes() == 0)
                try await fixture.admin("/_admin/expire_all")
                async let first = whoami(a)
                async let second = whoami(b)
                let (one, two) = try await (first, second)
                #expect(one.json?["sub"] == "alice", "\(one.text)")
                #expect(two.json?["sub"] == "alice", "\(two.text)")
                #expect(try await refreshes() == 1)

                // Revoked: the replica that meets it drops the tokens, and the other knows at once.
                try await fixture.admin("/_admin/revoke_all")
                let revoked = try await whoami(a)
                #expect(revoked.status == 401, "\(revoked.text)")
                #expect(
                    await pollUntil(within: .seconds(30)) {
                        (try? await TestHTTP.get(b, "/oauth/secure/status"))?.json?["authenticated"] == false
                    }, "b still holds the revoked tokens")
                let onBAfter = try await whoami(b)
                #expect(onBAfter.status == 401, "\(onBAfter.text)")
                #expect(try await refreshes() == 2, "b did not try the refresh token a found refused")
            } catch {
                await Self.stopAll(replicas)
                await fixture.stop()
                throw error
            }
            await Self.stopAll(replicas)
            await fixture.stop()
        }
    }

    @Test("multi-user OAuth across replicas: signed in through one replica, called through the two others")
    func multiUserAcrossReplicas() async throws {
        try await Self.withPostgres { postgres in
            let fixture = try await OAuthFixtureServers.start()
            let publicCallback = "http://127.0.0.1:\(try FixturePorts.reserve())/oauth/secure/callback"
            let oauth: JSON = [
                "type": "streamable-http", "url": .string(fixture.mcpURL),
                "oauth": [
                    "server_url": .string(fixture.mcpURL), "multi_user": true, "redirect_uri": .string(publicCallback),
                ],
            ]
            let file = try Self.write(
                #"{"store": "\#(postgres.url())", "mcpServers": {"secure": \#(oauth.text)}}"#, in: postgres.folder)
            var replicas: [ProxyProcess] = []
            do {
                for name in ["a", "b", "c"] {
                    replicas.append(
                        try await ProxyProcess.start(
                            ["--config", file], environment: ["MCPO_STORE_KEY": Self.storeKey, "MCPO_REPLICA": name]))
                }
                let (a, b) = (replicas[0], replicas[1])
                // The session starts on a (its cookie), the browser's callback lands on b with that cookie.
                let visit = try await TestHTTP.get(a, "/oauth/secure/authorize", headers: [("Accept", "text/html")])
                #expect(visit.status == 302, "\(visit.text)")
                let setCookie = try #require(visit.header("set-cookie"))
                let cookie = (
                    "Cookie", "mcpo_session=" + String(setCookie.dropFirst("mcpo_session=".count).prefix { $0 != ";" })
                )
                let location = try #require(visit.header("location"))
                let browsed = try await RedirectBrowser.open(
                    location, headers: [cookie], stopAt: { $0.hasPrefix(publicCallback) })
                let callback = try #require(browsed.hops.last)
                let onB = try await TestHTTP.get(
                    b, "/oauth/secure/callback" + callback.dropFirst(publicCallback.count), headers: [cookie])
                #expect(onB.status == 200 && onB.text.contains("Authorization Successful!"), "\(onB.text)")
                for replica in replicas[1...] {
                    #expect(
                        await pollUntil {
                            (try? await TestHTTP.post(replica, "/secure/whoami", headers: [cookie]))?.json?["sub"]
                                == "alice"
                        }, "the user's session and tokens hold on the other replicas")
                }
                // A cookie nobody signed is refused everywhere.
                let forged = (
                    "Cookie", "mcpo_session=" + TestJWT.make(["sub": "mallory", "exp": 4_102_444_800], key: "guess")
                )
                #expect(try await TestHTTP.post(b, "/secure/whoami", headers: [forged]).status == 401)
            } catch {
                await Self.stopAll(replicas)
                await fixture.stop()
                throw error
            }
            await Self.stopAll(replicas)
            await fixture.stop()
        }
    }

    @Test(
        "OAuth under load: 60 calls at a time through nginx over three replicas, across three token expiries, one refresh each"
    )
    func oauthUnderLoad() async throws {
        try await Self.withPostgres { postgres in
            let fixture = try await OAuthFixtureServers.start(["--token-lifetime", "6"])
            let publicCallback = "http://127.0.0.1:\(try FixturePorts.reserve())/oauth/secure/callback"
            let oauth: JSON = [
                "type": "streamable-http", "url": .string(fixture.mcpURL),
                "oauth": [
                    "server_url": .string(fixture.mcpURL), "use_loopback": false,
                    "redirect_uri": .string(publicCallback),
                ],
            ]
            let file = try Self.write(
                #"{"store": "\#(postgres.url())", "mcpServers": {"secure": \#(oauth.text)}}"#, in: postgres.folder)
            var replicas: [ProxyProcess] = []
            var balancer: NginxBalancer?
            do {
                for name in ["a", "b", "c"] {
                    replicas.append(
                        try await ProxyProcess.start(
                            ["--config", file], environment: ["MCPO_STORE_KEY": Self.storeKey, "MCPO_REPLICA": name]))
                }
                let nginx = try await NginxBalancer.start(backends: replicas.map(\.port))
                balancer = nginx
                let link = try #require(
                    try await TestHTTP.get(replicas[0], "/oauth/secure/status").json?["authorization_url"]?.stringValue)
                let visit = try await RedirectBrowser.open(link, stopAt: { $0.hasPrefix(publicCallback) })
                let callback = try #require(visit.hops.last)
                let done = try await TestHTTP.get(
                    replicas[2], "/oauth/secure/callback" + callback.dropFirst(publicCallback.count))
                #expect(done.status == 200, "\(done.text)")
                for replica in replicas {
                    #expect(
                        await pollUntil {
                            (try? await TestHTTP.get(replica, "/readyz"))?.json?["servers"]?["secure"]?["state"]
                                == "connected"
                        }, "every replica connects once the user authorized through one")
                }
                func refreshTokensSent() async throws -> [String] {
                    try await fixture.requests("as", "POST", "/token").compactMap {
                        $0["form"]?["grant_type"] == "refresh_token" ? $0["form"]?["refresh_token"]?.stringValue : nil
                    }
                }
                var failures: [String] = []
                var waves = 0
                let expiries = await pollUntil(within: .seconds(180), every: .milliseconds(100)) {
                    waves += 1
                    await withTaskGroup(of: String?.self) { group in
                        for index in 0..<60 {
                            group.addTask {
                                let reply = try? await TestHTTP.request(.POST, nginx.baseURL + "/secure/whoami")
                                guard let reply, reply.status == 200, reply.json?["sub"] == "alice" else {
                                    return
                                        "call \(index): \(reply.map { "\($0.status) \($0.text.prefix(120))" } ?? "no answer")"
                                }
                                return nil
                            }
                        }
                        for await failure in group { if let failure { failures.append(failure) } }
                    }
                    return failures.isEmpty ? ((try? await refreshTokensSent().count) ?? 0) >= 3 : true
                }
                #expect(expiries, "three expiries within the bound (\(waves) waves)")
                #expect(failures.isEmpty, "\(failures.prefix(5))")
                let sent = try await refreshTokensSent()
                #expect(Set(sent).count == sent.count, "a rotated refresh token was sent twice")
                let tokensSeen = Set(
                    try await fixture.log().compactMap { entry -> String? in
                        guard entry["server"] == "rs" else { return nil }
                        return entry["authorization"]?.stringValue
                    })
                #expect(tokensSeen.count == sent.count + 1, "one access token per refresh, and the first")
            } catch {
                await balancer?.stop()
                await Self.stopAll(replicas)
                await fixture.stop()
                throw error
            }
            await balancer?.stop()
            await Self.stopAll(replicas)
            await fixture.stop()
        }
    }
}
