import Foundation
import JSONValue
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The audit log and the pins in one SQLite file (sqlite-nio, the SQLite it bundles), in WAL mode: one connection
/// writes, one reads, so reading the log never waits for a batch being written. The file is created 0600 in a folder
/// made 0700. When the file is removed or replaced under the proxy, the next write opens it again (creating it
/// anew); a write that cannot be made throws, and the caller counts the loss.
public final class SQLiteStore: GovernanceStore {
    private struct Connections {
        var writer: SQLiteConnection
        var reader: SQLiteConnection
        /// The file's device and inode when opened: a removed or replaced file is noticed before writing into the void.
        var identity: FileIdentity?
    }

    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    public let path: String
    public var name: String { "sqlite://" + path }
    private let logger: Logger
    private let state: Mutex<Connections?>
    /// Writes and reopening one at a time: a batch and a pin update never interleave on the writer.
    private let writeGate = AsyncGate()

    private init(path: String, connections: Connections, logger: Logger) {
        self.path = path
        self.logger = logger
        self.state = Mutex(connections)
    }

    /// Opens (creating) the file at `path`, its folder and its tables.
    public static func open(path: String, logger: Logger) async throws(AuditError) -> SQLiteStore {
        let connections = try await openConnections(path: path, logger: logger)
        return SQLiteStore(path: path, connections: connections, logger: logger)
    }

    private static func openConnections(path: String, logger: Logger) async throws(AuditError) -> Connections {
        try prepareFile(path)
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            do {
                for statement in schema { _ = try await writer.query(statement) }
                let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                _ = try await reader.query("PRAGMA busy_timeout = 5000")
                return Connections(writer: writer, reader: reader, identity: identity(of: path))
            } catch {
                try? await writer.close()
                throw error
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .store("the audit store \(path) cannot be opened: \(describe(error))")
        }
    }

    /// The folder (0700) and the file (0600) exist before SQLite opens it, so it never creates them wider.
    private static func prepareFile(_ path: String) throws(AuditError) {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .store("the audit store's folder \(folder) cannot be made: \(error.localizedDescription)")
            }
        }
        var status = stat()
        if lstat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFREG {
            throw .store("the audit store \(path) is not a file")
        }
        let descriptor = Glibc.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .store("the audit store \(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
        if fstat(descriptor, &status) == 0, status.st_mode & 0o077 != 0 { fchmod(descriptor, 0o600) }
        Glibc.close(descriptor)
    }

    private static func identity(of path: String) -> FileIdentity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    static let schema = [
        "PRAGMA busy_timeout = 5000",
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        // Fewer, larger checkpoints of the log into the file: each copies pages the next batches would touch again.
        "PRAGMA wal_autocheckpoint = 8192",
        "PRAGMA cache_size = -16384",
        """
        CREATE TABLE IF NOT EXISTS audit_records (
          seq INTEGER PRIMARY KEY, id TEXT NOT NULL, time_ms INTEGER NOT NULL, server TEXT NOT NULL,
          tool TEXT NOT NULL, caller TEXT NOT NULL, outcome TEXT NOT NULL, duration_ms REAL NOT NULL,
          record TEXT NOT NULL)
        """,
        // Newest first is the table's own order (its row numbers); one index serves the server and tool filter.
        "CREATE INDEX IF NOT EXISTS audit_by_tool ON audit_records (server, tool)",
        """
        CREATE TABLE IF NOT EXISTS tool_pins (
          server TEXT NOT NULL, tool TEXT NOT NULL, approved_hash TEXT NOT NULL, approved_definition TEXT NOT NULL,
          current_hash TEXT, current_definition TEXT, first_seen_ms INTEGER NOT NULL, approved_at_ms INTEGER NOT NULL,
          PRIMARY KEY (server, tool))
        """,
        "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO store_meta (key, value) VALUES ('pins_version', 0)",
    ]

    // MARK: - Connections

    /// The connections, opened again first when the file was removed or replaced since.
    private func connections() async throws(AuditError) -> Connections {
        guard let current = state.withLock({ $0 }) else { throw .store("the audit store \(path) is closed") }
        if let opened = current.identity, Self.identity(of: path) == opened { return current }
        // Removed, replaced, or never identified: open the file at the path again (a new empty log when it is gone).
        let fresh = try await Self.openConnections(path: path, logger: logger)
        let previous = state.withLock { state -> Connections? in
            defer { state = fresh }
            return state
        }
        if let previous {
            try? await previous.writer.close()
            try? await previous.reader.close()
        }
        logger.warning("the audit store \(path) was removed or replaced; opened it again")
        return fresh
    }

    private func write(_ sql: String, _ binds: [SQLiteData] = []) async throws(AuditError) -> [SQLiteRow] {
        do {
            return try await writeGate.run { () async throws(AuditError) -> [SQLiteRow] in
                let connections = try await self.connections()
                do {
                    return try await connections.writer.query(sql, binds)
                } catch {
                    throw .store("writing the audit store \(self.path) failed: \(Self.describe(error))")
                }
            }
        } catch {
            throw error
        }
    }

    private func read(_ sql: String, _ binds: [SQLiteData] = []) async throws(AuditError) -> [SQLiteRow] {
        guard let current = state.withLock({ $0 }) else { throw .store("the audit store \(path) is closed") }
        do {
            return try await current.reader.query(sql, binds)
        } catch {
            throw .store("reading the audit store \(path) failed: \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let sqlite = error as? SQLiteError { return sqlite.message }
        return "\(error)"
    }

    // MARK: - Audit records

    static let recordColumns = "seq, id, time_ms, server, tool, caller, outcome, duration_ms, record"

    /// Rows per statement: one statement per chunk is atomic on its own and well under SQLite's limit of bound
    /// values. A record is kept as its JSON text beside the columns that are searched, sorted or summed, so a row
    /// binds eight values, not sixteen (SQLite parses each statement anew: binding and parsing are most of a write).
    static let rowsPerStatement = 256

    public func append(_ rows: AuditRows) async throws(AuditError) {
        let rows = rows.rows
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + Self.rowsPerStatement, rows.count)]
            var binds: [SQLiteData] = []
            binds.reserveCapacity(chunk.count * 8)
            for row in chunk {
                binds += [
                    .text(row.id), .integer(SQLiteInt64(row.timeMilliseconds)), .text(row.server), .text(row.tool),
                    .text(row.caller), .text(row.outcome), .float(row.durationMs), .text(row.storedText),
                ]
            }
            _ = try await write(Self.insertStatement(rows: chunk.count), binds)
            start += chunk.count
        }
    }

    /// `INSERT … VALUES (?,…),(?,…)` for `rows` rows (the full-size one made once).
    static func insertStatement(rows: Int) -> String {
        rows == rowsPerStatement ? fullInsert : makeInsert(rows: rows)
    }

    private static let fullInsert = makeInsert(rows: rowsPerStatement)

    private static func makeInsert(rows: Int) -> String {
        "INSERT INTO audit_records (id, time_ms, server, tool, caller, outcome, duration_ms, record) VALUES "
            + Array(repeating: "(?,?,?,?,?,?,?,?)", count: rows).joined(separator: ",")
    }

    public func records(matching query: AuditQuery) async throws(AuditError) -> AuditPage {
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        if let server = query.server {
            conditions.append("server = ?")
            binds.append(.text(server))
        }
        if let tool = query.tool {
            conditions.append("tool = ?")
            binds.append(.text(tool))
        }
        if let caller = query.caller {
            conditions.append("caller = ?")
            binds.append(.text(caller))
        }
        if let outcome = query.outcome {
            conditions.append("outcome = ?")
            binds.append(.text(outcome.rawValue))
        }
        if let since = query.since {
            conditions.append("seq >= ? AND time_ms >= ?")
            binds += [
                .integer(SQLiteInt64(try await firstPosition(notBefore: since))),
                .integer(SQLiteInt64(AuditCursor.milliseconds(of: since))),
            ]
        }
        if let until = query.until {
            conditions.append("time_ms <= ?")
            binds.append(.integer(SQLiteInt64(AuditCursor.milliseconds(of: until))))
        }
        if let cursor = query.cursor {
            conditions.append("seq < ?")
            binds.append(.integer(SQLiteInt64(cursor.position)))
        }
        let limit = max(1, min(query.limit, AuditQuery.maximumLimit))
        var sql = "SELECT \(Self.recordColumns) FROM audit_records"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY seq DESC LIMIT \(limit + 1)"
        let rows = try await read(sql, binds)
        let page = rows.prefix(limit)
        let next =
            rows.count > limit
            ? page.last.flatMap { $0.column("seq")?.integer }.map { AuditCursor(position: Int64($0)) } : nil
        return AuditPage(records: page.map(Self.record(of:)), next: next)
    }

    static func record(of row: SQLiteRow) -> AuditRecord {
        AuditRecord(
            id: row.column("id")?.string ?? "",
            time: Date(timeIntervalSince1970: Double(row.column("time_ms")?.integer ?? 0) / 1000),
            server: row.column("server")?.string ?? "", tool: row.column("tool")?.string ?? "",
            caller: row.column("caller")?.string ?? "", outcome: row.column("outcome")?.string ?? "",
            durationMs: row.column("duration_ms")?.double ?? 0, storedText: row.column("record")?.string ?? "{}")
    }

    public func stats(since: Date?) async throws(AuditError) -> AuditStats {
        var window = ""
        if let since {
            let position = try await firstPosition(notBefore: since)
            window = " WHERE seq >= \(position) AND time_ms >= \(AuditCursor.milliseconds(of: since))"
        }
        let totals = try await read(
            "SELECT COUNT(*) AS total, SUM(outcome = 'ok') AS ok, AVG(duration_ms) AS average FROM audit_records"
                + window)
        let total = Int(totals.first?.column("total")?.integer ?? 0)
        guard total > 0 else {
            return AuditStats(totalCalls: 0, successRate: 0, avgDurationMs: 0, p95DurationMs: 0, topTools: [])
        }
        let ok = Double(totals.first?.column("ok")?.integer ?? 0)
        let average = totals.first?.column("average")?.double ?? 0
        // The nearest-rank 95th percentile: the value below which 95 % of the calls fall.
        let rank = Int((Double(total) * 0.95).rounded(.up)) - 1
        let p95 = try await read(
            "SELECT duration_ms FROM audit_records\(window) ORDER BY duration_ms LIMIT 1 OFFSET \(max(0, rank))")
        let top = try await read(
            "SELECT server, tool, COUNT(*) AS calls FROM audit_records\(window) GROUP BY server, tool "
                + "ORDER BY calls DESC, server, tool LIMIT 10")
        return AuditStats(
            totalCalls: total, successRate: ok / Double(total), avgDurationMs: average,
            p95DurationMs: p95.first?.column("duration_ms")?.double ?? 0,
            topTools: top.map {
                AuditStats.ToolCount(
                    server: $0.column("server")?.string ?? "", tool: $0.column("tool")?.string ?? "",
                    calls: Int($0.column("calls")?.integer ?? 0))
            })
    }

    /// A row number before which no record is newer than `time`: records are written in about the order of their
    /// times, so a binary search over row numbers finds it in a few lookups instead of a scan of the table. An hour
    /// of slack covers calls that took long (a record's time is its call's start).
    func firstPosition(notBefore time: Date) async throws(AuditError) -> Int64 {
        let target = AuditCursor.milliseconds(of: time) - 3_600_000
        let bounds = try await read("SELECT min(seq) AS low, max(seq) AS high FROM audit_records")
        guard var low = bounds.first?.column("low")?.integer.map(Int64.init),
            var high = bounds.first?.column("high")?.integer.map(Int64.init)
        else { return 0 }
        // The first row whose time is at or after the target (rows may be missing: deleted by retention).
        while low < high {
            let middle = low + (high - low) / 2
            let rows = try await read(
                "SELECT seq, time_ms FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT 1",
                [.integer(SQLiteInt64(middle))])
            guard let seq = rows.first?.column("seq")?.integer, let at = rows.first?.column("time_ms")?.integer else {
                high = middle
                continue
            }
            if Int64(at) < target { low = Int64(seq) + 1 } else { high = middle }
        }
        return low
    }

    public func deleteRecords(olderThan cutoff: Date) async throws(AuditError) -> Int {
        let milliseconds = SQLiteInt64(AuditCursor.milliseconds(of: cutoff))
        var deleted = 0
        // In slices, so a large deletion never holds the writer for long.
        while true {
            let rows = try await write(
                "DELETE FROM audit_records WHERE seq IN (SELECT seq FROM audit_records WHERE time_ms < ? ORDER BY seq LIMIT 5000) "
                    + "RETURNING seq",
                [.integer(milliseconds)])
            deleted += rows.count
            if rows.count < 5000 { return deleted }
        }
    }

    // MARK: - Pins

    static let pinColumns =
        "server, tool, approved_hash, approved_definition, current_hash, current_definition, first_seen_ms, approved_at_ms"

    static func pin(of row: SQLiteRow) -> ToolPin {
        ToolPin(
            server: row.column("server")?.string ?? "", tool: row.column("tool")?.string ?? "",
            approvedHash: row.column("approved_hash")?.string ?? "",
            approvedDefinition: row.column("approved_definition")?.string ?? "",
            currentHash: row.column("current_hash")?.string,
            currentDefinition: row.column("current_definition")?.string,
            firstSeen: Date(timeIntervalSince1970: Double(row.column("first_seen_ms")?.integer ?? 0) / 1000),
            approvedAt: Date(timeIntervalSince1970: Double(row.column("approved_at_ms")?.integer ?? 0) / 1000))
    }

    public func pins(server: String?) async throws(AuditError) -> [ToolPin] {
        let rows: [SQLiteRow]
        if let server {
            rows = try await read(
                "SELECT \(Self.pinColumns) FROM tool_pins WHERE server = ? ORDER BY server, tool", [.text(server)])
        } else {
            rows = try await read("SELECT \(Self.pinColumns) FROM tool_pins ORDER BY server, tool")
        }
        return rows.map(Self.pin(of:))
    }

    public func pinFirstSeen(_ pin: ToolPin) async throws(AuditError) -> ToolPin {
        let inserted = try await write(
            "INSERT INTO tool_pins (\(Self.pinColumns)) VALUES (?,?,?,?,NULL,NULL,?,?) ON CONFLICT (server, tool) "
                + "DO NOTHING RETURNING server",
            [
                .text(pin.server), .text(pin.tool), .text(pin.approvedHash), .text(pin.approvedDefinition),
                .integer(SQLiteInt64(AuditCursor.milliseconds(of: pin.firstSeen))),
                .integer(SQLiteInt64(AuditCursor.milliseconds(of: pin.approvedAt))),
            ])
        if !inserted.isEmpty {
            try await bumpVersion()
            return pin
        }
        let rows = try await write(
            "SELECT \(Self.pinColumns) FROM tool_pins WHERE server = ? AND tool = ?",
            [.text(pin.server), .text(pin.tool)])
        return rows.first.map(Self.pin(of:)) ?? pin
    }

    public func recordCurrent(server: String, tool: String, hash: String?, definition: String?) async throws(AuditError)
    {
        let changed = try await write(
            "UPDATE tool_pins SET current_hash = ?, current_definition = ? WHERE server = ? AND tool = ? "
                + "AND current_hash IS NOT ? RETURNING server",
            [
                hash.map(SQLiteData.text) ?? .null, definition.map(SQLiteData.text) ?? .null, .text(server),
                .text(tool), hash.map(SQLiteData.text) ?? .null,
            ])
        if !changed.isEmpty { try await bumpVersion() }
    }

    public func approve(server: String, tools: [String], at time: Date) async throws(AuditError) -> [ToolPin] {
        var sql =
            "UPDATE tool_pins SET approved_hash = current_hash, approved_definition = current_definition, "
            + "current_hash = NULL, current_definition = NULL, approved_at_ms = ? "
            + "WHERE server = ? AND current_hash IS NOT NULL"
        var binds: [SQLiteData] = [.integer(SQLiteInt64(AuditCursor.milliseconds(of: time))), .text(server)]
        if !tools.isEmpty {
            sql += " AND tool IN (" + tools.map { _ in "?" }.joined(separator: ",") + ")"
            binds += tools.map(SQLiteData.text)
        }
        let rows = try await write(sql + " RETURNING \(Self.pinColumns)", binds)
        if !rows.isEmpty { try await bumpVersion() }
        return rows.map(Self.pin(of:))
    }

    public func pinsVersion() async throws(AuditError) -> Int64 {
        let rows = try await read("SELECT value FROM store_meta WHERE key = 'pins_version'")
        return Int64(rows.first?.column("value")?.integer ?? 0)
    }

    private func bumpVersion() async throws(AuditError) {
        _ = try await write("UPDATE store_meta SET value = value + 1 WHERE key = 'pins_version'")
    }

    public func close() async {
        guard let current = state.withLock({ $0.take() }) else { return }
        try? await current.writer.close()
        try? await current.reader.close()
    }
}
