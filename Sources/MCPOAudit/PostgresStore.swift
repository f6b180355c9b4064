import Foundation
import JSONValue
import Logging
import MCPOAuth
import MCPOConfig
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// The audit log and the pins in PostgreSQL (postgres-nio), shared by every replica: a bounded pool of connections
/// (`poolSize`), versioned migrations applied at start under an advisory lock (replicas starting together are safe;
/// a schema newer than this binary stops it), and every statement bounded in time. While PostgreSQL is away the
/// statements fail at once (the pool reconnects with backoff) and the audit writer holds its records. Unreachable
/// at start, the store opens anyway and migrates before its first statement that gets through.
public final class PostgresStore: GovernanceStore {
    public let name: String
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    private let migrated = Mutex(false)
    /// Statements wait at most this long (for a connection and for their answer).
    static let statementBound = Duration.seconds(10)
    /// Migrations wait at most this long, once PostgreSQL has answered: one may build an index over the whole audit
    /// log (schema 3), which takes longer than a statement on a large one, and replicas wait for it on its lock.
    static let migrationBound = Duration.seconds(600)
    /// The schema this binary knows; migrations take a database from any older one to it.
    static let schemaVersion = 4
    /// The advisory lock the migrations hold (any constant other applications are unlikely to use).
    static let migrationLock: Int64 = 0x6D63_706F_6D69_6772  // "mcpomigr"

    private init(name: String, client: PostgresClient, runner: Task<Void, Never>, logger: Logger) {
        self.name = name
        self.client = client
        self.runner = runner
        self.logger = logger
    }

    /// Connects (bounded), applies the migrations, and keeps a pool of at most `poolSize` connections.
    public static func open(url: String, poolSize: Int = 4, logger: Logger) async throws(AuditError) -> PostgresStore {
        let configuration: PostgresClient.Configuration
        let shownName: String
        do {
            (configuration, shownName) = try Self.configuration(url: url, poolSize: poolSize)
        } catch {
            throw error
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        let runner = Task { await client.run() }
        let store = PostgresStore(name: shownName, client: client, runner: runner, logger: logger)
        let refusal: String?
        do {
            refusal = try await store.migrate()
        } catch {
            logger.warning("the store \(shownName) cannot be reached yet (\(error)); serving, and trying again")
            return store
        }
        if let refusal {
            // A schema this binary cannot use: the start stops.
            await store.close()
            throw .store(refusal)
        }
        return store
    }

    /// `postgres://user:password@host:port/database?sslmode=disable|prefer|require|verify-full`.
    static func configuration(url: String, poolSize: Int) throws(AuditError) -> (PostgresClient.Configuration, String) {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw .store("the store URL is not postgres://user:password@host:5432/database")
        }
        let user = components.percentEncodedUser?.removingPercentEncoding ?? components.user ?? "postgres"
        let password = components.percentEncodedPassword?.removingPercentEncoding ?? components.password
        let database = String(components.path.drop { $0 == "/" })
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        switch mode {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer(unverified)
        case "require": tls = .require(unverified)
        case "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw .store("the store URL's sslmode '\(mode)' is not disable, prefer, require or verify-full")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: password,
            database: database.isEmpty ? nil : database, tls: tls)
        // One more than asked: it follows the OAuth announcements (LISTEN) for as long as the store is open.
        configuration.options.maximumConnections = max(1, poolSize) + 1
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(5)
        var shown = components
        if shown.password != nil { shown.percentEncodedPassword = "***" }
        return (configuration, shown.string ?? "postgres://\(host)")
    }

    // MARK: - Statements

    /// Runs `query`, bounded in time; any failure is `.store` with what PostgreSQL said (never the password).
    @discardableResult
    func run(_ query: PostgresQuery) async throws(AuditError) -> [PostgresRow] {
        try await ensureMigrated()
        return try await bounded { try await self.client.query(query, logger: self.logger).collect() }
    }

    /// Runs `work` against PostgreSQL for at most `bound`; a failure is `.store`, in PostgreSQL's words.
    func bounded<T: Sendable>(
        within bound: Duration = statementBound, _ work: @escaping @Sendable () async throws -> T
    ) async throws(AuditError) -> T {
        let name = self.name
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await work() }
                group.addTask {
                    try await Task.sleep(for: bound)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else {
                    throw AuditError.store("the store \(name) did not answer within \(bound)")
                }
                return result
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .store("the store \(name): \(Self.reason(of: error))")
        }
    }

    /// Migrates first when the database was away at start.
    private func ensureMigrated() async throws(AuditError) {
        guard !migrated.withLock({ $0 }) else { return }
        if let refusal = try await migrate() { throw .store(refusal) }
    }

    /// Why `error` happened, in PostgreSQL's words where it has them (inside a transaction's error, its cause).
    static func reason(of error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            guard let cause = error.closureError ?? error.beginError ?? error.commitError else { return "\(error)" }
            return reason(of: cause)
        }
        if let error = error as? PSQLError { return describe(error) }
        return "\(error)"
    }

    static func describe(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return message }
        switch error.code {
        case .connectionError: return "cannot connect"
        case .serverClosedConnection, .clientClosedConnection: return "the connection closed"
        default: return "\(error.code)"
        }
    }

    static func query(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    // MARK: - Migrations

    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE IF NOT EXISTS audit_records (
              seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL, time_ms BIGINT NOT NULL, server TEXT NOT NULL,
              tool TEXT NOT NULL, caller TEXT NOT NULL, outcome TEXT NOT NULL, duration_ms DOUBLE PRECISION NOT NULL,
              record TEXT NOT NULL)
            """,
            "CREATE INDEX IF NOT EXISTS audit_by_tool ON audit_records (server, tool, seq DESC)",
            "CREATE INDEX IF NOT EXISTS audit_by_time ON audit_records USING brin (time_ms)",
            """
            CREATE TABLE IF NOT EXISTS tool_pins (
              server TEXT NOT NULL, tool TEXT NOT NULL, approved_hash TEXT NOT NULL, approved_definition TEXT NOT NULL,
              current_hash TEXT, current_definition TEXT, first_seen_ms BIGINT NOT NULL, approved_at_ms BIGINT NOT NULL,
              PRIMARY KEY (server, tool))
            """,
            "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO store_meta (key, value) VALUES ('pins_version', 0) ON CONFLICT DO NOTHING",
        ],
        [
            // OAuth state shared by replicas: every secret sealed with the store key (see PostgresOAuthState).
            """
            CREATE TABLE IF NOT EXISTS oauth_tokens (
              server TEXT NOT NULL, user_key TEXT NOT NULL, sealed BYTEA NOT NULL, updated_ms BIGINT NOT NULL,
              PRIMARY KEY (server, user_key))
            """,
            "CREATE TABLE IF NOT EXISTS oauth_clients (server TEXT PRIMARY KEY, sealed BYTEA NOT NULL)",
            """
            CREATE TABLE IF NOT EXISTS oauth_pending (
              state_hash TEXT PRIMARY KEY, server TEXT NOT NULL, sealed BYTEA NOT NULL, expires_ms BIGINT NOT NULL)
            """,
            "CREATE TABLE IF NOT EXISTS store_secrets (name TEXT PRIMARY KEY, sealed BYTEA NOT NULL)",
            """
            CREATE TABLE IF NOT EXISTS oauth_device (
              server TEXT NOT NULL, user_key TEXT NOT NULL, sealed BYTEA NOT NULL, expires_ms BIGINT NOT NULL,
              PRIMARY KEY (server, user_key))
            """,
        ],
        [
            // Searches by tool keep an index whose keys are two integers: a B-tree of (server, tool) text compared
            // in the database's collation made every record cost PostgreSQL a third more to write.
            "CREATE INDEX IF NOT EXISTS audit_by_tool_hash ON audit_records (hashtextextended(tool, 0), seq DESC)",
            "DROP INDEX IF EXISTS audit_by_tool",
        ],
        [
            // The same keys with the sequence ascending: a new record goes to the right end of its tool's run, where
            // a page split leaves the old page full, instead of its left end, where each split leaves two half-full
            // pages. The index is about half the size and costs a record less to write; `ORDER BY seq DESC` scans
            // it backwards.
            "CREATE INDEX IF NOT EXISTS audit_by_tool_seq ON audit_records (hashtextextended(tool, 0), seq)",
            "DROP INDEX IF EXISTS audit_by_tool_hash",
        ],
    ]

    /// Takes the database to `schemaVersion`, one replica at a time (an advisory lock held by a transaction). Returns
    /// why not when the database's schema is newer than this binary knows.
    private func migrate() async throws(AuditError) -> String? {
        let known = Self.schemaVersion
        let migrations = Self.migrations
        let (name, logger, client) = (self.name, self.logger, self.client)
        // Whether PostgreSQL answers at all is known within a statement's bound; the migrations may take longer.
        try await bounded { _ = try await client.query("SELECT 1", logger: logger).collect() }
        let refusal = try await bounded(within: Self.migrationBound) { () async throws -> String? in
            try await client.withTransaction(logger: logger) { connection -> String? in
                func execute(_ sql: String) async throws {
                    _ = try await connection.query(Self.query(sql), logger: logger)
                }
                try await execute("SELECT pg_advisory_xact_lock(\(Self.migrationLock))")
                try await execute("CREATE TABLE IF NOT EXISTS mcpo_schema (version INT NOT NULL)")
                var current = 0
                for try await version in try await connection.query(
                    Self.query("SELECT max(version) FROM mcpo_schema"), logger: logger
                ).decode(Int?.self) {
                    current = version ?? 0
                }
                guard current <= known else {
                    return "the store \(name) has schema version \(current), newer than this mcpo knows (\(known)): "
                        + "run the newer mcpo, or a store of its own"
                }
                if current < known {
                    logger.info("the store \(name): migrating its schema from version \(current) to \(known)")
                }
                for version in current..<known {
                    for statement in migrations[version] { try await execute(statement) }
                    try await execute("INSERT INTO mcpo_schema (version) VALUES (\(version + 1))")
                }
                return nil
            }
        }
        if refusal == nil { migrated.withLock { $0 = true } }
        return refusal
    }

    // MARK: - Audit records

    public func append(_ rows: AuditRows) async throws(AuditError) {
        guard !rows.isEmpty else { return }
        // COPY, PostgreSQL's bulk load: the batch's bytes travel as they were encoded, the cheapest way in for both
        // sides (framed by the format's header and trailer, sent apart rather than copied around them).
        let parts = rows.copyParts
        try await ensureMigrated()
        try await bounded {
            try await self.client.withConnection { connection in
                try await connection.copyFrom(table: Self.binaryCopyTarget, logger: self.logger) { writer in
                    for part in parts { try await writer.write(part) }
                }
            }
        }
    }

    /// What `copyFrom` is given as the table: postgres-nio 1.x asks for COPY's text format only, and writes the
    /// table's name into its statement as it is given, between double quotes. This name closes the quotes itself,
    /// names the columns and the binary format, and makes the rest of the statement a comment:
    /// `COPY "audit_records" ("id", …) FROM STDIN WITH (FORMAT binary) --" FROM STDIN WITH (FORMAT text)`.
    /// Every part of it is a constant.
    static let binaryCopyTarget =
        "audit_records\" (" + AuditRows.columns.map { "\"\($0)\"" }.joined(separator: ", ")
        + ") FROM STDIN WITH (FORMAT binary) --"

    public func records(matching query: AuditQuery) async throws(AuditError) -> AuditPage {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if let server = query.server { conditions.append("server = \(bind(server))") }
        if let tool = query.tool {
            let name = bind(tool)
            conditions.append("hashtextextended(tool, 0) = hashtextextended(\(name), 0) AND tool = \(name)")
        }
        if let caller = query.caller { conditions.append("caller = \(bind(caller))") }
        if let outcome = query.outcome { conditions.append("outcome = \(bind(outcome.rawValue))") }
        if let since = query.since { conditions.append("time_ms >= \(bind(AuditCursor.milliseconds(of: since)))") }
        if let until = query.until { conditions.append("time_ms <= \(bind(AuditCursor.milliseconds(of: until)))") }
        if let cursor = query.cursor { conditions.append("seq < \(bind(cursor.position))") }
        let limit = max(1, min(query.limit, AuditQuery.maximumLimit))
        var sql = "SELECT seq, id, time_ms, server, tool, caller, outcome, duration_ms, record FROM audit_records"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY seq DESC LIMIT \(limit + 1)"
        let rows = try await run(Self.query(sql, binds))
        var records: [AuditRecord] = []
        var positions: [Int64] = []
        for row in rows.prefix(limit) {
            guard
                let (seq, id, time, server, tool, caller, outcome, duration, text) = try? row.decode(
                    (Int64, String, Int64, String, String, String, String, Double, String).self)
            else { continue }
            records.append(
                AuditRecord(
                    id: id, time: Date(timeIntervalSince1970: Double(time) / 1000), server: server, tool: tool,
                    caller: caller, outcome: outcome, durationMs: duration, storedText: text))
            positions.append(seq)
        }
        let next = rows.count > limit ? positions.last.map(AuditCursor.init(position:)) : nil
        return AuditPage(records: records, next: next)
    }

    public func stats(since: Date?) async throws(AuditError) -> AuditStats {
        var binds = PostgresBindings()
        var window = ""
        if let since {
            binds.append(AuditCursor.milliseconds(of: since))
            window = " WHERE time_ms >= $1"
        }
        let totals = try await run(
            Self.query(
                "SELECT count(*)::bigint, count(*) FILTER (WHERE outcome = 'ok')::bigint, "
                    + "coalesce(avg(duration_ms), 0)::float8, "
                    + "coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms), 0)::float8 "
                    + "FROM audit_records\(window)", binds))
        guard let (total, ok, average, p95) = try? totals.first?.decode((Int64, Int64, Double, Double).self),
            total > 0
        else { return AuditStats(totalCalls: 0, successRate: 0, avgDurationMs: 0, p95DurationMs: 0, topTools: []) }
        let top = try await run(
            Self.query(
                "SELECT server, tool, count(*)::bigint AS calls FROM audit_records\(window) GROUP BY server, tool "
                    + "ORDER BY calls DESC, server, tool LIMIT 10", binds))
        return AuditStats(
            totalCalls: Int(total), successRate: Double(ok) / Double(total), avgDurationMs: average,
            p95DurationMs: p95,
            topTools: top.compactMap { row in
                guard let (server, tool, calls) = try? row.decode((String, String, Int64).self) else { return nil }
                return AuditStats.ToolCount(server: server, tool: tool, calls: Int(calls))
            })
    }

    public func deleteRecords(olderThan cutoff: Date) async throws(AuditError) -> Int {
        var deleted = 0
        while true {
            var binds = PostgresBindings()
            binds.append(AuditCursor.milliseconds(of: cutoff))
            let rows = try await run(
                Self.query(
                    "DELETE FROM audit_records WHERE seq IN (SELECT seq FROM audit_records WHERE time_ms < $1 "
                        + "ORDER BY seq LIMIT 5000) RETURNING seq", binds))
            deleted += rows.count
            if rows.count < 5000 { return deleted }
        }
    }

    // MARK: - Pins

    static let pinColumns =
        "server, tool, approved_hash, approved_definition, current_hash, current_definition, first_seen_ms, approved_at_ms"

    static func pin(of row: PostgresRow) -> ToolPin? {
        guard
            let (
                server, tool, approvedHash, approvedDefinition, currentHash, currentDefinition, firstSeen, approvedAt
            ) =
                try? row.decode((String, String, String, String, String?, String?, Int64, Int64).self)
        else { return nil }
        return ToolPin(
            server: server, tool: tool, approvedHash: approvedHash, approvedDefinition: approvedDefinition,
            currentHash: currentHash, currentDefinition: currentDefinition,
            firstSeen: Date(timeIntervalSince1970: Double(firstSeen) / 1000),
            approvedAt: Date(timeIntervalSince1970: Double(approvedAt) / 1000))
    }

    public func pins(server: String?) async throws(AuditError) -> [ToolPin] {
        var binds = PostgresBindings()
        var filter = ""
        if let server {
            binds.append(server)
            filter = " WHERE server = $1"
        }
        return try await run(
            Self.query("SELECT \(Self.pinColumns) FROM tool_pins\(filter) ORDER BY server, tool", binds)
        )
        .compactMap(Self.pin(of:))
    }

    public func pinFirstSeen(_ pin: ToolPin) async throws(AuditError) -> ToolPin {
        var binds = PostgresBindings()
        binds.append(pin.server)
        binds.append(pin.tool)
        binds.append(pin.approvedHash)
        binds.append(pin.approvedDefinition)
        binds.append(AuditCursor.milliseconds(of: pin.firstSeen))
        binds.append(AuditCursor.milliseconds(of: pin.approvedAt))
        let inserted = try await run(
            Self.query(
                "INSERT INTO tool_pins (\(Self.pinColumns)) VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6) "
                    + "ON CONFLICT (server, tool) DO NOTHING RETURNING server", binds))
        if !inserted.isEmpty {
            try await bumpVersion()
            return pin
        }
        return try await pins(server: pin.server).first { $0.tool == pin.tool } ?? pin
    }

    public func recordCurrent(server: String, tool: String, hash: String?, definition: String?) async throws(AuditError)
    {
        var binds = PostgresBindings()
        binds.append(hash)
        binds.append(definition)
        binds.append(server)
        binds.append(tool)
        let changed = try await run(
            Self.query(
                "UPDATE tool_pins SET current_hash = $1, current_definition = $2 WHERE server = $3 AND tool = $4 "
                    + "AND current_hash IS DISTINCT FROM $1 RETURNING server", binds))
        if !changed.isEmpty { try await bumpVersion() }
    }

    public func approve(server: String, tools: [String], at time: Date) async throws(AuditError) -> [ToolPin] {
        var binds = PostgresBindings()
        binds.append(AuditCursor.milliseconds(of: time))
        binds.append(server)
        var sql =
            "UPDATE tool_pins SET approved_hash = current_hash, approved_definition = current_definition, "
            + "current_hash = NULL, current_definition = NULL, approved_at_ms = $1 "
            + "WHERE server = $2 AND current_hash IS NOT NULL"
        if !tools.isEmpty {
            binds.append(tools)
            sql += " AND tool = ANY($3::text[])"
        }
        let rows = try await run(Self.query(sql + " RETURNING \(Self.pinColumns)", binds))
        if !rows.isEmpty { try await bumpVersion() }
        return rows.compactMap(Self.pin(of:))
    }

    public func pinsVersion() async throws(AuditError) -> Int64 {
        let rows = try await run(Self.query("SELECT value FROM store_meta WHERE key = 'pins_version'"))
        return (try? rows.first?.decode(Int64.self)) ?? 0
    }

    private func bumpVersion() async throws(AuditError) {
        try await run(Self.query("UPDATE store_meta SET value = value + 1 WHERE key = 'pins_version'"))
    }

    public var sharedByReplicas: Bool { true }

    public func sharedOAuthState(key: StoreKey) -> (any SharedOAuthState)? {
        PostgresOAuthState(store: self, key: key)
    }

    public func close() async {
        runner.cancel()
        await runner.value
    }
}
