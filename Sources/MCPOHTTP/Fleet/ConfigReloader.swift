import Logging
import MCPClient
import MCPOConfig

/// Applies a new config to a running fleet, server by server, without downtime.
///
/// - added: started and mounted at once (503 under its path until it connects);
/// - removed: unmounted, then stopped once its calls in flight are done (bounded);
/// - changed: a new instance is started beside the old one; only when it is ready are the routes swapped,
///   then the old one is drained and stopped. If the new one cannot start, the old one keeps serving;
/// - unchanged: not touched.
struct ConfigReloader {
    let fleet: ServerFleet
    let logger: Logger

    struct Summary: CustomStringConvertible {
        var added: [String] = []
        var removed: [String] = []
        var changed: [String] = []
        var kept: [String] = []
        var failed: [String] = []

        var description: String {
            func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }
            return
                "added \(list(added)); removed \(list(removed)); changed \(list(changed)); kept \(list(kept)); failed \(list(failed))"
        }
    }

    /// First start: every server starts concurrently; waits (bounded) until each has had its first attempt.
    func startAll(_ config: ProxyConfig, firstAttemptBound: Duration) async {
        let servers = config.servers.map(fleet.makeServer(for:))
        fleet.setServers(servers)
        for server in servers { server.upstream.startInBackground() }
        let deadline = ContinuousClock.now + firstAttemptBound
        while ContinuousClock.now < deadline {
            let starting = servers.contains { server in
                if case .starting = server.upstream.status.state { return true }
                return false
            }
            if !starting { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        for server in servers {
            if case .connected = server.upstream.status.state { continue }
            let reason = server.upstream.status.lastError ?? "still starting"
            logger.warning("[\(server.name)] not connected yet (\(reason)); retrying in the background")
        }
    }

    /// Applies `config` and returns what happened.
    func apply(_ config: ProxyConfig) async -> Summary {
        var summary = Summary()
        let current = Dictionary(fleet.servers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let wanted = Set(config.servers.map(\.name))
        var next: [MountedServer] = []
        var retiring: [MountedServer] = []

        for entry in config.servers {
            guard let existing = current[entry.name] else {
                let server = fleet.makeServer(for: entry)
                server.upstream.startInBackground()
                next.append(server)
                summary.added.append(entry.name)
                continue
            }
            guard existing.entry != entry else {
                next.append(existing)
                summary.kept.append(entry.name)
                continue
            }
            let replacement = fleet.makeServer(for: entry)
            do {
                try await replacement.upstream.start()
                next.append(replacement)
                retiring.append(existing)
                summary.changed.append(entry.name)
            } catch {
                logger.error("[\(entry.name)] the changed entry cannot start (\(error)); the old one keeps serving")
                await replacement.upstream.shutdown()
                next.append(existing)
                summary.failed.append(entry.name)
            }
        }
        for (name, server) in current where !wanted.contains(name) {
            retiring.append(server)
            summary.removed.append(name)
        }
        // One swap: requests see the old set or the new one, never a mix.
        fleet.setServers(next)
        for server in retiring {
            Task { await fleet.retire(server) }
        }
        summary.removed.sort()
        return summary
    }
}
