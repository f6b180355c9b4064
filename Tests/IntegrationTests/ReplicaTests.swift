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
                #expect(try await postgres.psql("SELECT max(version) FROM mcpo_schema") == "4", "migrated once")
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
                    await pollUntil(within: .seconds(120)) {
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
}
