import MCPClient
import MCPOConfig
import MCPOIdentity
import Synchronization

/// A remote server reached at one URL per tenant (`{tenant}` in its `url`): one upstream session per tenant, made on
/// the tenant's first call, closed after `idleTimeout` without calls. The tools served are those the latest tenant
/// session listed (they appear once a first tenant has connected).
final class TenantSessions: Sendable {
    private struct Session {
        var upstream: any ToolUpstream
        var lastUsed: ContinuousClock.Instant
    }

    private struct State {
        var sessions: [String: Session] = [:]
        var stopped = false
        var sweeper: Task<Void, Never>?
    }

    let entry: ServerEntry
    let idleTimeout: Duration
    private let make: @Sendable (ServerEntry) -> any ToolUpstream
    private let state = Mutex(State())
    private let latest = LatestSnapshot()

    init(
        entry: ServerEntry, idleTimeout: Duration = .seconds(600),
        make: @escaping @Sendable (ServerEntry) -> any ToolUpstream
    ) {
        self.entry = entry
        self.idleTimeout = idleTimeout
        self.make = make
    }

    var snapshot: UpstreamSnapshot? { latest.value }
    var count: Int { state.withLock { $0.sessions.count } }

    func observe(_ observer: @escaping @Sendable () -> Void) {
        latest.observe(observer)
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

    /// The tenant's session, made on first use; nil once stopped.
    func session(for tenant: String) -> (any ToolUpstream)? {
        let now = ContinuousClock.now
        let (session, made) = state.withLock { state -> ((any ToolUpstream)?, Bool) in
            guard !state.stopped else { return (nil, false) }
            if var existing = state.sessions[tenant] {
                existing.lastUsed = now
                state.sessions[tenant] = existing
                return (existing.upstream, false)
            }
            let upstream = make(entry.filled(tenant: tenant))
            state.sessions[tenant] = Session(upstream: upstream, lastUsed: now)
            if state.sweeper == nil { state.sweeper = Task { [weak self] in await self?.sweep() } }
            return (upstream, true)
        }
        if made, let session { latest.follow(session) }
        return session
    }

    /// Closes the sessions idle longer than `idleTimeout`, checked a few times per timeout.
    private func sweep() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: idleTimeout / 4)
            let now = ContinuousClock.now
            let idle = state.withLock { state -> [any ToolUpstream] in
                let expired = state.sessions.filter { now - $0.value.lastUsed >= idleTimeout }
                for tenant in expired.keys { state.sessions[tenant] = nil }
                return expired.values.map(\.upstream)
            }
            for session in idle { await session.shutdown() }
        }
    }

    func shutdownAll() async {
        let (all, sweeper) = state.withLock { state -> ([any ToolUpstream], Task<Void, Never>?) in
            state.stopped = true
            defer {
                state.sessions = [:]
                state.sweeper = nil
            }
            return (state.sessions.values.map(\.upstream), state.sweeper)
        }
        sweeper?.cancel()
        await withTaskGroup(of: Void.self) { group in
            for session in all { group.addTask { await session.shutdown() } }
        }
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
