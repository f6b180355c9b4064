import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A PostgreSQL server of Debian's `postgresql` package, made for one test: `initdb` in a temporary folder, then
/// `postgres` on a free port of 127.0.0.1 (trust authentication, no Unix socket in a shared place). Run as the
/// `postgres` user when the tests run as root (PostgreSQL refuses root). Stopped (and started again, for outage
/// tests) by its own pid; the folder is removed by `remove()`.
public final class PostgresServer: Sendable {
    public let port: Int
    public let folder: String
    /// `postgres` itself (through `runuser` when the tests run as root).
    private let postmaster: FixtureProcess

    public static var binaries: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).max().map { "\(root)/\($0)/bin" }
    }

    private init(port: Int, folder: String, binaries: String) {
        self.port = port
        self.folder = folder
        postmaster = FixtureProcess(
            port: port,
            arguments: Self.asPostgres([
                binaries + "/postgres", "-D", folder + "/data", "-p", String(port), "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=\(folder)", "-c", "fsync=off", "-c", "max_connections=200",
            ]))
    }

    /// `command` run as the `postgres` user when the tests run as root (PostgreSQL refuses root).
    static func asPostgres(_ command: [String]) -> [String] {
        geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>?sslmode=disable`.
    public func url(database: String = "postgres") -> String {
        "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Makes the cluster and starts it, waiting (bounded) until it accepts connections.
    public static func start() async throws -> PostgresServer {
        guard let binaries else {
            throw FixtureFailure(
                "PostgreSQL is not installed (Debian: apt-get install postgresql; scripts/setup-test-env.sh)")
        }
        let folder = NSTemporaryDirectory() + "mcpo-postgres-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let server = PostgresServer(port: try FixturePorts.reserve(), folder: folder, binaries: binaries)
        if geteuid() == 0 { _ = try await run("/bin/chown", ["-R", "postgres:postgres", folder]) }
        let initdb = try await run(
            binaries + "/initdb",
            ["-D", folder + "/data", "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"],
            asPostgres: true)
        guard initdb.status == 0 else { throw FixtureFailure("initdb failed: \(initdb.output)") }
        try await server.launch()
        return server
    }

    /// Starts `postgres` on the cluster (again, after `stop()`), waiting until it accepts connections.
    public func launch(bound: Duration = .seconds(90)) async throws {
        guard let binaries = Self.binaries else { throw FixtureFailure("PostgreSQL is not installed") }
        try await postmaster.launch(bound: bound)
        // Accepting is not yet ready for queries: pg_isready says when it is.
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            let ready = try await Self.run(
                binaries + "/pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"])
            if ready.status == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FixtureFailure("postgres did not accept queries within \(bound)")
    }

    /// Creates a database (for tests that each want an empty one).
    public func createDatabase(_ name: String) async throws {
        guard let binaries = Self.binaries else { throw FixtureFailure("PostgreSQL is not installed") }
        let outcome = try await Self.run(
            binaries + "/createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", name])
        guard outcome.status == 0 else { throw FixtureFailure("createdb \(name) failed: \(outcome.output)") }
    }

    /// Runs SQL with psql and returns what it printed (unaligned, tuples only).
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let outcome = try await Self.run(
            "/usr/bin/psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-Atc", sql])
        guard outcome.status == 0 else { throw FixtureFailure("psql failed: \(outcome.output)") }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGKILL (an outage, not a shutdown), then waits (bounded) until it is gone.
    public func stop() async {
        // runuser's child is the postmaster: it and its backends go at once (a backend left attached to the shared
        // memory would stop the next start).
        var cluster: [Int32] = []
        if let pid = postmasterPID() {
            // Stopped first, the postmaster forks no backend between the listing of its children and the kill (one
            // forked then would outlive it, attached to the shared memory).
            kill(pid, SIGSTOP)
            cluster = [pid] + Self.children(of: pid)
        }
        for pid in cluster { kill(pid, SIGKILL) }
        await postmaster.stop()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, FixturePorts.accepts(port) || cluster.contains(where: Self.exists) {
            try? await Task.sleep(for: .milliseconds(50))
        }
        // The pid file is left behind by a SIGKILL.
        try? FileManager.default.removeItem(atPath: folder + "/data/postmaster.pid")
    }

    /// Stops the server and removes its folder.
    public func remove() async {
        await stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The processes whose parent is `pid` (from `/proc/<pid>/stat`).
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            // After the name in parentheses: the state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    /// Whether `pid` is a live process (not gone, not a zombie).
    static func exists(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    private func postmasterPID() -> Int32? {
        guard let text = try? String(contentsOfFile: folder + "/data/postmaster.pid", encoding: .utf8) else {
            return nil
        }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Runs a command to its end (as the `postgres` user when asked and the tests run as root).
    static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = false) async throws
        -> (status: Int32, output: String)
    {
        let command = asPostgres ? Self.asPostgres([executable] + arguments) : [executable] + arguments
        let child = Process()
        child.executableURL = URL(fileURLWithPath: command[0])
        child.arguments = Array(command.dropFirst())
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mcpo-pg-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        child.standardOutput = handle
        child.standardError = handle
        try child.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while child.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if child.isRunning { child.terminate() }
        try? handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return (child.isRunning ? -1 : child.terminationStatus, text)
    }
}
