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
    private let process = Mutex<Process?>(nil)

    public static var binaries: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).max().map { "\(root)/\($0)/bin" }
    }

    private init(port: Int, folder: String) {
        self.port = port
        self.folder = folder
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
        let server = PostgresServer(port: try FixturePorts.reserve(), folder: folder)
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
        let child = Process()
        let arguments = [
            binaries + "/postgres", "-D", folder + "/data", "-p", String(port), "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=\(folder)", "-c", "fsync=off", "-c", "max_connections=200",
        ]
        if geteuid() == 0 {
            child.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            child.arguments = ["-u", "postgres", "--"] + arguments
        } else {
            child.executableURL = URL(fileURLWithPath: arguments[0])
            child.arguments = Array(arguments.dropFirst())
        }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        process.withLock { $0 = child }
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if FixturePorts.accepts(port) {
                // Accepting is not yet ready for queries: pg_isready says when it is.
                let ready = try await Self.run(
                    binaries + "/pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"])
                if ready.status == 0 { return }
            }
            if !child.isRunning { throw FixtureFailure("postgres exited with \(child.terminationStatus)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FixtureFailure("postgres did not accept connections within \(bound)")
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
        guard let child = process.withLock({ $0.take() }) else { return }
        // runuser's child is the postmaster: kill the whole group of processes the cluster runs.
        let pid = postmasterPID()
        if let pid { kill(pid, SIGKILL) }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, FixturePorts.accepts(port) || child.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        // The backends exit once the postmaster is gone; the pid file is left behind by a SIGKILL.
        try? FileManager.default.removeItem(atPath: folder + "/data/postmaster.pid")
    }

    /// Stops the server and removes its folder.
    public func remove() async {
        await stop()
        try? FileManager.default.removeItem(atPath: folder)
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
        let child = Process()
        if asPostgres, geteuid() == 0 {
            child.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            child.arguments = ["-u", "postgres", "--", executable] + arguments
        } else {
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = arguments
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mcpo-pg-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
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
