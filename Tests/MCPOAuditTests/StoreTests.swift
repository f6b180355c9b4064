import Foundation
import Logging
import TestSupport
import Testing

@testable import MCPOAudit

/// A fresh folder under the temporary directory, removed when the test is done.
final class StoreFolder: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "mcpo-audit-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var database: String { path + "/state/audit.db" }
}

let quietLogger: Logger = {
    var logger = Logger(label: "audit-tests")
    logger.logLevel = .critical
    return logger
}()

func record(
    _ index: Int, server: String = "kitchen", tool: String = "cook", caller: String = "ci",
    outcome: AuditOutcome = .ok, duration: Double = 1, at time: Date = Date()
) -> AuditRecord {
    AuditRecord(
        id: String(format: "r%05d", index), time: time, caller: caller, server: server, tool: tool,
        argsSha256: String(repeating: "0", count: 64), status: outcome == .ok ? 200 : 500, outcome: outcome,
        durationMs: duration, replica: "test")
}

/// The stores the same tests run against: an SQLite file, and a PostgreSQL server of its own.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A fresh store of `backend` for one test, and what removes it.
struct TestStore {
    let store: any GovernanceStore
    private let folder: StoreFolder
    private let postgres: PostgresServer?

    static func make(_ backend: Backend) async throws -> TestStore {
        let folder = try StoreFolder()
        switch backend {
        case .sqlite:
            return TestStore(
                store: try await SQLiteStore.open(path: folder.database, logger: quietLogger), folder: folder,
                postgres: nil)
        case .postgres:
            let server = try await PostgresServer.start()
            return TestStore(
                store: try await PostgresStore.open(url: server.url(), logger: quietLogger), folder: folder,
                postgres: server)
        }
    }

    func remove() async {
        await store.close()
        await postgres?.remove()
    }
}

@Suite("the stores: SQLite and PostgreSQL")
struct StoreTests {
    @Test("SQLite: the file is created 0600 in a folder made 0700; records read back newest first")
    func createAndRead() async throws {
        let folder = try StoreFolder()
        let store = try await SQLiteStore.open(path: folder.database, logger: quietLogger)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.database)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let folderAttributes = try FileManager.default.attributesOfItem(atPath: folder.path + "/state")
        #expect((folderAttributes[.posixPermissions] as? Int) == 0o700)
        let base = Date(timeIntervalSince1970: 1_796_523_038)
        var full = record(1, at: base)
        full.user = "alice"
        full.tenant = "acme"
        full.output = "{\"result\":3}"
        full.error = "boom"
        full.risk = "high"
        full.traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        try await store.append([full, record(2, at: base.addingTimeInterval(1))])
        let page = try await store.records(matching: AuditQuery())
        #expect(page.records.map(\.id) == ["r00002", "r00001"])
        #expect(page.records.last == full)
        #expect(page.next == nil)
        await store.close()
    }

    @Test("filters, limits and cursors walk the log without gaps or repeats", arguments: Backend.allCases)
    func filtersAndCursors(_ backend: Backend) async throws {
        let made = try await TestStore.make(backend)
        let store = made.store
        let base = Date(timeIntervalSince1970: 1_796_000_000)
        var records: [AuditRecord] = []
        for index in 0..<250 {
            records.append(
                record(
                    index, tool: index % 2 == 0 ? "cook" : "serve", caller: index % 5 == 0 ? "ops" : "ci",
                    outcome: index % 10 == 0 ? .toolError : .ok,
                    at: base.addingTimeInterval(Double(index / 3))))  // three records share each second
        }
        try await store.append(records)
        var seen: [String] = []
        var query = AuditQuery(tool: "cook", limit: 40)
        while true {
            let page = try await store.records(matching: query)
            seen += page.records.map(\.id)
            guard let next = page.next else { break }
            query.cursor = next
        }
        // Newest written first.
        let expected = records.filter { $0.tool == "cook" }.reversed().map(\.id)
        #expect(seen == expected)
        let ops = try await store.records(matching: AuditQuery(caller: "ops", outcome: .toolError, limit: 1000))
        #expect(ops.records.count == records.filter { $0.caller == "ops" && $0.outcome == .toolError }.count)
        let window = try await store.records(
            matching: AuditQuery(since: base.addingTimeInterval(10), until: base.addingTimeInterval(19), limit: 1000))
        #expect(window.records.count == 30)
        await made.remove()
    }

    @Test(
        "stats: total, success rate, average and 95th percentile of durations, top tools", arguments: Backend.allCases)
    func stats(_ backend: Backend) async throws {
        let made = try await TestStore.make(backend)
        let store = made.store
        let now = Date()
        var records: [AuditRecord] = []
        for index in 1...100 {
            records.append(
                record(
                    index, tool: index <= 60 ? "cook" : "serve", outcome: index % 4 == 0 ? .toolError : .ok,
                    duration: Double(index), at: now))
        }
        records.append(record(999, tool: "old", duration: 5000, at: now.addingTimeInterval(-7200)))
        try await store.append(records)
        let stats = try await store.stats(since: now.addingTimeInterval(-60))
        #expect(stats.totalCalls == 100)
        #expect(stats.successRate == 0.75)
        #expect(stats.avgDurationMs == 50.5)
        #expect(stats.p95DurationMs == 95)
        #expect(
            stats.topTools == [
                .init(server: "kitchen", tool: "cook", calls: 60), .init(server: "kitchen", tool: "serve", calls: 40),
            ])
        #expect(try await store.stats(since: nil).totalCalls == 101)
        let empty = try await store.stats(since: now.addingTimeInterval(60))
        #expect(empty.totalCalls == 0)
        #expect(empty.successRate == 0)
        await made.remove()
    }

    @Test("retention deletes what is older than the cutoff, in slices", arguments: Backend.allCases)
    func retention(_ backend: Backend) async throws {
        let made = try await TestStore.make(backend)
        let store = made.store
        let now = Date()
        let old = (0..<12_000).map { record($0, at: now.addingTimeInterval(-100 * 86_400)) }
        try await store.append(old + [record(99_999, at: now)])
        #expect(try await store.deleteRecords(olderThan: now.addingTimeInterval(-90 * 86_400)) == 12_000)
        #expect(try await store.records(matching: AuditQuery()).records.map(\.id) == ["r99999"])
        await made.remove()
    }

    @Test("SQLite: a file removed under the store is opened anew; a path that cannot be a file fails the write")
    func removedFile() async throws {
        let folder = try StoreFolder()
        let store = try await SQLiteStore.open(path: folder.database, logger: quietLogger)
        try await store.append([record(1)])
        try FileManager.default.removeItem(atPath: folder.database)
        try? FileManager.default.removeItem(atPath: folder.database + "-wal")
        try? FileManager.default.removeItem(atPath: folder.database + "-shm")
        try FileManager.default.createDirectory(atPath: folder.database, withIntermediateDirectories: false)
        await #expect(throws: AuditError.self) { try await store.append([record(2)]) }
        try FileManager.default.removeItem(atPath: folder.database)
        try await store.append([record(3)])
        #expect(try await store.records(matching: AuditQuery()).records.map(\.id) == ["r00003"])
        #expect(FileManager.default.fileExists(atPath: folder.database))
        await store.close()
    }

    @Test(
        "pins: first seen kept (the first writer wins), current recorded, approval, version bumps",
        arguments: Backend.allCases)
    func pins(_ backend: Backend) async throws {
        let made = try await TestStore.make(backend)
        let store = made.store
        let now = Date(timeIntervalSince1970: 1_796_000_000)
        let version0 = try await store.pinsVersion()
        let pin = ToolPin(
            server: "kitchen", tool: "cook", approvedHash: "h1", approvedDefinition: "{\"name\":\"cook\"}",
            firstSeen: now, approvedAt: now)
        #expect(try await store.pinFirstSeen(pin) == pin)
        var other = pin
        other.approvedHash = "h-other"
        #expect(try await store.pinFirstSeen(other).approvedHash == "h1", "a pin that exists stays")
        try await store.recordCurrent(
            server: "kitchen", tool: "cook", hash: "h2", definition: "{\"name\":\"cook\",\"v\":2}")
        let changed = try #require(try await store.pins(server: "kitchen").first)
        #expect(changed.isChanged)
        #expect(changed.currentHash == "h2")
        let version1 = try await store.pinsVersion()
        #expect(version1 > version0)
        #expect(try await store.approve(server: "kitchen", tools: ["other"], at: now).isEmpty)
        let approved = try await store.approve(server: "kitchen", tools: [], at: now.addingTimeInterval(5))
        #expect(approved.map(\.approvedHash) == ["h2"])
        #expect(approved.first?.approvedDefinition == "{\"name\":\"cook\",\"v\":2}")
        #expect(approved.first?.isChanged == false)
        #expect(try await store.pinsVersion() > version1)
        await made.remove()
    }

    @Test(
        "values with tabs, newlines, backslashes, quotes and other scripts come back as written (a NUL dropped)",
        arguments: Backend.allCases)
    func awkwardValues(_ backend: Backend) async throws {
        let made = try await TestStore.make(backend)
        var written = record(1, server: "k\titchen", tool: "c\\ook\n", caller: "ci \"quoted\" \r élan\u{0} 東京")
        written.output = "line one\nline\ttwo \\N \\ end"
        written.error = "\\"
        try await made.store.append([written, record(2)])
        let read = try await made.store.records(matching: AuditQuery()).records
        #expect(read.map(\.id) == ["r00002", "r00001"])
        let back = try #require(read.last)
        #expect(back.server == written.server && back.tool == written.tool)
        #expect(back.caller == "ci \"quoted\" \r élan 東京")
        #expect(back.output == written.output && back.error == written.error)
        let filtered = try await made.store.records(matching: AuditQuery(server: "k\titchen", tool: "c\\ook\n"))
        #expect(filtered.records.map(\.id) == ["r00001"])
        await made.remove()
    }

    @Test(
        "every field reads back as written, text that needs escaping and a search by tool included",
        arguments: Backend.allCases)
    func roundTrip(_ backend: Backend) async throws {
        let made = try await TestStore.make(backend)
        let store = made.store
        let at = Date(timeIntervalSince1970: 1_796_523_038.123)  // whole milliseconds, as the stores keep times
        var odd = record(1, tool: "say\tit", caller: "a\\b\nc\rd", at: at)
        odd.user = "zoë"
        odd.output = "line one\nline\ttwo \"quoted\" back\\slash \u{0}nul"
        odd.error = "{\"nested\": \"json\\n\"}"
        odd.traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        let plain = record(2, tool: "cook", at: at)
        try await store.append([odd, plain])
        let page = try await store.records(matching: AuditQuery())
        #expect(page.records.count == 2)
        let read = try #require(page.records.first { $0.id == odd.id })
        #expect(read.caller == odd.caller)
        #expect(read.tool == odd.tool)
        #expect(read.output == odd.output)
        #expect(read.error == odd.error)
        #expect(read.user == odd.user)
        #expect(read == odd)
        #expect(try await store.records(matching: AuditQuery(tool: "say\tit")).records.map(\.id) == [odd.id])
        #expect(try await store.records(matching: AuditQuery(tool: "cook")).records.map(\.id) == [plain.id])
        #expect(try await store.records(matching: AuditQuery(tool: "none")).records.isEmpty)
        await made.remove()
    }

    @Test("PostgreSQL: versions 3 and 4 end with an index on the tool's hash and the sequence, read backwards")
    func postgresToolIndexMigration() async throws {
        let server = try await PostgresServer.start()
        let url = server.url()
        let indexes =
            "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'audit_records'"
        let current = "audit_by_time,audit_by_tool_seq,audit_records_pkey"
        var store = try await PostgresStore.open(url: url, logger: quietLogger)
        try await store.append([record(1, tool: "cook"), record(2, tool: "serve"), record(3, tool: "serve")])
        await store.close()
        #expect(try await server.psql(indexes) == current)
        // Back to a database as versions 2 and 3 left it, each migrated forward again.
        let earlier = [
            (
                2,
                "CREATE INDEX audit_by_tool ON audit_records (server, tool, seq DESC); "
                    + "DELETE FROM mcpo_schema WHERE version > 2"
            ),
            (
                3,
                "CREATE INDEX audit_by_tool_hash ON audit_records (hashtextextended(tool, 0), seq DESC); "
                    + "DELETE FROM mcpo_schema WHERE version > 3"
            ),
        ]
        for (version, statements) in earlier {
            _ = try await server.psql("DROP INDEX audit_by_tool_seq; " + statements)
            #expect(try await server.psql("SELECT max(version) FROM mcpo_schema") == "\(version)")
            store = try await PostgresStore.open(url: url, logger: quietLogger)
            let found = try await store.records(matching: AuditQuery(tool: "serve")).records.map(\.id)
            #expect(found == ["r00003", "r00002"], "from version \(version)")
            #expect(try await server.psql(indexes) == current, "from version \(version)")
            #expect(try await server.psql("SELECT max(version) FROM mcpo_schema") == "4")
            await store.close()
        }
        // The search by tool, newest first, is a backward scan of that index (sequential scans ruled out: the table
        // is too small for the planner to prefer the index on its own).
        let plan = try await server.psql(
            "SET enable_seqscan = off; EXPLAIN SELECT seq FROM audit_records WHERE hashtextextended(tool, 0) = "
                + "hashtextextended('serve', 0) AND tool = 'serve' AND seq < 10 ORDER BY seq DESC LIMIT 51")
        #expect(plan.contains("Index Scan Backward using audit_by_tool_seq"), "\(plan)")
        await server.remove()
    }

    @Test("PostgreSQL: stores opened together migrate once; a newer schema stops the start, naming both versions")
    func postgresMigrations() async throws {
        let server = try await PostgresServer.start()
        let url = server.url()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresStore.open(url: url, logger: quietLogger) } }
            var opened: [PostgresStore] = []
            for try await store in group { opened.append(store) }
            return opened
        }
        #expect(try await server.psql("SELECT count(*) FROM mcpo_schema") == "\(PostgresStore.schemaVersion)")
        try await stores[0].append([record(1)])
        #expect(try await stores[3].records(matching: AuditQuery()).records.map(\.id) == ["r00001"])
        for store in stores { await store.close() }
        _ = try await server.psql("INSERT INTO mcpo_schema (version) VALUES (99)")
        await #expect(
            throws: AuditError.store(
                "the store \(url) has schema version 99, newer than this mcpo knows "
                    + "(\(PostgresStore.schemaVersion)): run the newer mcpo, or a store of its own")
        ) {
            try await PostgresStore.open(url: url, logger: quietLogger)
        }
        await server.remove()
    }

    @Test("PostgreSQL away at start: the store opens, its statements fail with the reason, and work once it is up")
    func postgresAwayAtStart() async throws {
        let server = try await PostgresServer.start()
        await server.stop()
        let store = try await PostgresStore.open(url: server.url(), logger: quietLogger)
        await #expect(throws: AuditError.self) { try await store.append([record(1)]) }
        try await server.launch()
        try await store.append([record(2)])
        #expect(try await store.records(matching: AuditQuery()).records.map(\.id) == ["r00002"])
        #expect(try await server.psql("SELECT count(*) FROM mcpo_schema") == "\(PostgresStore.schemaVersion)")
        await store.close()
        await server.remove()
    }

    @Test("PostgreSQL URLs: sslmode understood, a wrong one named, the password never shown")
    func postgresURLs() throws {
        let (configuration, shown) = try PostgresStore.configuration(
            url: "postgres://mcpo:s3cret@db.example:6543/gateway?sslmode=require", poolSize: 7)
        #expect(shown == "postgres://mcpo:***@db.example:6543/gateway?sslmode=require")
        #expect(configuration.options.maximumConnections == 8, "7 and the one that listens")
        #expect(configuration.database == "gateway")
        #expect(configuration.port == 6543)
        #expect(
            throws: AuditError.store(
                "the store URL's sslmode 'sometimes' is not disable, prefer, require or verify-full")
        ) {
            _ = try PostgresStore.configuration(url: "postgres://db.example/x?sslmode=sometimes", poolSize: 4)
        }
        #expect(throws: AuditError.self) { _ = try PostgresStore.configuration(url: "postgres:///nohost", poolSize: 4) }
    }
}
