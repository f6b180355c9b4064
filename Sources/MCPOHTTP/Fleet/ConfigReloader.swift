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
        for server in servers { server.start() }
        let deadline = ContinuousClock.now + firstAttemptBound
        // OAuth servers are not waited for: their link may need the proxy's own callback URL, whose port is known
        // only once the proxy listens (`--port 0`).
        while ContinuousClock.now < deadline {
            if !servers.contains(where: { $0.isStarting && $0.oauth == nil }) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        for server in servers where server.oauth?.multiUser != true {
            switch server.upstream.status.state {
            case .connected:
                continue
            case .starting where server.oauth != nil:
                continue
            case .awaitingAuthorization:
                logger.warning("[\(server.name)] waiting for OAuth authorization (see /oauth/\(server.name)/status)")
            default:
                let reason = server.upstream.status.lastError ?? "still starting"
                logger.warning("[\(server.name)] not connected yet (\(reason)); retrying in the background")
            }
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
                server.start()
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
                if replacement.oauth?.multiUser == true {
                    // Nothing to start: users connect with their own accounts.
                    replacement.start()
                } else {
                    try await replacement.upstream.start()
                    replacement.oauth?.start()
                }
                next.append(replacement)
                retiring.append(existing)
                summary.changed.append(entry.name)
            } catch .authorizationRequired {
                // It works, but waits for a user: supervised, it connects once authorized.
                replacement.start()
                next.append(replacement)
                retiring.append(existing)
                summary.changed.append(entry.name)
            } catch {
                logger.error("[\(entry.name)] the changed entry cannot start (\(error)); the old one keeps serving")
                await replacement.shutdown()
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
