import MCPClient
import MCPOConfig
import MCPOIdentity

/// A remote server reached at one URL per tenant (`{tenant}` in its `url`): one upstream session per tenant, made on
/// the tenant's first call, closed after `idleTimeout` without calls (never under a call in flight). The tools
/// served are those the latest tenant session listed (they appear once a first tenant has connected).
final class TenantSessions: Sendable {
    let entry: ServerEntry
    let pool: InstancePool

    init(
        entry: ServerEntry, idleTimeout: Duration = .seconds(600),
        make: @escaping @Sendable (ServerEntry) -> any ToolUpstream
    ) {
        self.entry = entry
        self.pool = InstancePool(idleTimeout: idleTimeout, make: make)
    }

    var snapshot: UpstreamSnapshot? { pool.snapshot }
    var count: Int { pool.count }

    func observe(_ observer: @escaping @Sendable () -> Void) {
        pool.observe(observer)
    }

    /// The tenant of a call: the identity's tenant claim, else the server's `tenantHeader`; checked.
    func tenant(of request: ProxyRequest, identity: CallerIdentity) -> Result<String, CallFailure> {
        let header = entry.access.tenantHeader
        guard let tenant = identity.tenant ?? header.flatMap(request.header) else {
            let how = header.map { "the identity's tenant claim or the \($0) header" } ?? "the identity's tenant claim"
            return .failure(
                .badRequest(detail: "MCP server '\(entry.name)' serves one tenant per call: name the tenant in \(how)"))
        }
        guard Self.isValid(tenant) else {
            return .failure(
                .badRequest(
                    detail:
                        "The tenant must be 1 to 64 letters, digits, '.', '_' or '-' (not '.' or '..'); the request's is not"
                ))
        }
        return .success(tenant)
    }

    /// `[A-Za-z0-9._-]{1,64}`, and not `.` or `..` (a URL would resolve them to another path): what may go into a
    /// URL as is.
    static func isValid(_ tenant: String) -> Bool {
        tenant != "." && tenant != ".." && (1...64).contains(tenant.utf8.count)
            && tenant.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    /// Runs `body` with the tenant's session (made on first use); nil once stopped.
    func using<T>(_ tenant: String, _ body: (any ToolUpstream) async -> T) async -> T? {
        try? await pool.using(tenant, entry: { entry.filled(tenant: tenant) }, body).get()
    }

    func shutdownAll() async {
        await pool.shutdownAll()
    }
}

extension ServerEntry {
    /// This entry with `{tenant}` in its URL filled.
    func filled(tenant: String) -> ServerEntry {
        var entry = self
        switch transport {
        case .sse(var endpoint):
            endpoint.url = endpoint.url.replacingOccurrences(of: Self.tenantPlaceholder, with: tenant)
            entry.transport = .sse(endpoint)
        case .streamableHTTP(var endpoint):
            endpoint.url = endpoint.url.replacingOccurrences(of: Self.tenantPlaceholder, with: tenant)
            entry.transport = .streamableHTTP(endpoint)
        case .stdio:
            break
        }
        return entry
    }
}
