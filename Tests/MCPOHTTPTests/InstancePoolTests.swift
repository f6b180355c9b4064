import JSONValue
import MCPClient
import MCPOConfig
import MCPOIdentity
import Testing

@testable import MCPOHTTP

/// Instances per key (tenants, users): made once per key, bounded, refused once stopped; no process, no network.
@Suite struct InstancePoolTests {
    static func pool(maxInstances: Int? = nil) -> InstancePool {
        InstancePool(
            idleTimeout: .seconds(600), maxInstances: maxInstances,
            make: { entry in TestUpstream(name: entry.name, tools: [TestTools.echo]) { _ in TestTools.text("ok") } })
    }

    static let entry = ServerEntry(name: "notes", transport: .stdio(StdioCommand(command: "/bin/true")))

    @Test("one instance per key, the same on every use; beyond maxInstances a new key is refused")
    func keys() throws {
        let pool = Self.pool(maxInstances: 2)
        let ann = try pool.acquire("ann", entry: { Self.entry }).get()
        let again = try pool.acquire(
            "ann",
            entry: {
                Issue.record("made twice")
                return Self.entry
            }
        ).get()
        #expect(ann === again)
        _ = try pool.acquire("bob", entry: { Self.entry }).get()
        #expect(pool.count == 2)
        guard case .failure(.full(2)) = pool.acquire("carol", entry: { Self.entry }) else {
            Issue.record("a third key must be refused")
            return
        }
        pool.release("ann")
        pool.release("ann")
        #expect(pool.count == 2, "released instances stay until they are idle")
    }

    @Test("once stopped, every key is refused and every instance stopped")
    func stopped() async throws {
        let pool = Self.pool()
        let ann = try pool.acquire("ann", entry: { Self.entry }).get()
        await pool.shutdownAll()
        #expect(ann.status.state == .stopped)
        guard case .failure(.stopped) = pool.acquire("ann", entry: { Self.entry }) else {
            Issue.record("a stopped pool must refuse")
            return
        }
    }

    @Test("a caller's process runs with its env templates filled; a missing value is refused, naming the variable")
    func userEntries() throws {
        var entry = Self.entry
        entry.transport = .stdio(
            StdioCommand(
                command: "/bin/true", environment: ["WHO": "{{user}}", "TEAM": "{{claims.team}}", "FIXED": "x"]))
        entry.isolation.mode = .user
        let users = UserInstances(entry: entry, logger: .init(label: "test")) { _ in
            TestUpstream(tools: []) { _ in [:] }
        }
        let ann = CallerIdentity(
            credential: .token(issuer: "https://idp", subject: "s1"), user: "ann", scopes: .everything,
            claims: ["team": "blue"])
        guard case .success(let filled) = users.entry(for: ann), case .stdio(let command) = filled.transport else {
            Issue.record("ann's entry must be filled")
            return
        }
        #expect(command.environment == ["WHO": "ann", "TEAM": "blue", "FIXED": "x"])
        let key = CallerIdentity(credential: .apiKey(name: "ci"), user: "ci", scopes: .everything)
        guard case .failure(.refused(let detail)) = users.entry(for: key) else {
            Issue.record("a key without the claim must be refused")
            return
        }
        #expect(detail.contains("env TEAM"))
        #expect(UserInstances.key(of: key) == "ci")
        #expect(UserInstances.key(of: ann) == "https://idp#s1\u{1F}ann")
        #expect(
            entry.withoutIdentityTemplates.transport
                == .stdio(StdioCommand(command: "/bin/true", environment: ["FIXED": "x"])))
    }
}
