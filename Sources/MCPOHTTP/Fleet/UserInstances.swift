import Logging
import MCPClient
import MCPOConfig
import MCPOIdentity

/// A stdio server with `isolation: user`: one process per caller identity, started on the caller's first call with
/// the entry's `env` templates filled from that identity, stopped after `isolationIdleSeconds` without calls, at most
/// `maxInstances` at once. The server's own process (started without the templated variables) only lists the tools
/// for the documents; it never serves a call.
final class UserInstances: Sendable {
    let entry: ServerEntry
    let pool: InstancePool

    init(entry: ServerEntry, logger: Logger, make: @escaping @Sendable (ServerEntry) -> any ToolUpstream) {
        self.entry = entry
        let (name, seconds) = (entry.name, entry.isolation.idleSeconds)
        self.pool = InstancePool(
            idleTimeout: .milliseconds(Int64(seconds * 1000)), maxInstances: entry.isolation.maxInstances, make: make,
            onExpiry: { key in
                logger.info("[\(name)] stopped the process of \(Self.caller(ofKey: key)): no call for \(seconds) s")
            })
    }

    var count: Int { pool.count }

    /// The caller's instance key: who the credential proves, and the user it names when that differs (an Open WebUI
    /// user behind one key).
    static func key(of identity: CallerIdentity) -> String {
        guard let user = identity.user, user != identity.name else { return identity.name }
        return identity.name + "\u{1F}" + user
    }

    static func caller(ofKey key: String) -> String {
        key.replacingOccurrences(of: "\u{1F}", with: " as ")
    }

    /// The entry a caller's process runs: every `env` value with a template filled from the identity, or why not.
    func entry(for identity: CallerIdentity) -> Result<ServerEntry, CallFailure> {
        guard case .stdio(var command) = entry.transport else { return .success(entry) }
        for (name, template) in command.environment where template.contains("{{") {
            guard let value = IdentityTemplate.render(template, for: identity) else {
                return .failure(
                    .refused(
                        detail:
                            "MCP server '\(entry.name)' runs one process per caller with its env \(name) taken from the "
                            + "caller's identity, and this caller's identity has no value for it"))
            }
            command.environment[name] = value
        }
        var filled = entry
        filled.transport = .stdio(command)
        return .success(filled)
    }

    /// Runs `body` with the caller's own process, started on first use.
    func using(
        _ identity: CallerIdentity, _ body: (any ToolUpstream) async -> CallOutcome
    ) async -> CallOutcome {
        let filled: ServerEntry
        switch entry(for: identity) {
        case .failure(let failure): return .failure(failure)
        case .success(let entry): filled = entry
        }
        switch await pool.using(Self.key(of: identity), entry: { filled }, body) {
        case .success(let outcome):
            return outcome
        case .failure(.full(let maxInstances)):
            return .failure(
                .upstream(
                    server: entry.name,
                    .unavailable(
                        reason:
                            "it runs one process per caller and \(maxInstances) are running (maxInstances); a new "
                            + "caller gets one once another has been idle for \(Int(entry.isolation.idleSeconds)) s")))
        case .failure(.stopped):
            return .failure(.upstream(server: entry.name, .unavailable(reason: "the proxy is shutting down")))
        }
    }

    func shutdownAll() async {
        await pool.shutdownAll()
    }
}

extension ServerEntry {
    /// This entry without the `env` variables that hold identity templates: the process that lists the tools of a
    /// per-user server runs for nobody in particular.
    var withoutIdentityTemplates: ServerEntry {
        guard case .stdio(var command) = transport else { return self }
        command.environment = command.environment.filter { !$0.value.contains("{{") }
        var entry = self
        entry.transport = .stdio(command)
        return entry
    }
}
