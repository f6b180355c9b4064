import MCPClient
import MCPOConfig
import Synchronization

/// Upstream sessions kept per key (a tenant, a user): made on the key's first call, stopped once idle for
/// `idleTimeout` with no call in flight, at most `maxInstances` at once. The tools served are those the latest
/// session listed.
final class InstancePool: Sendable {
    private struct Instance {
        var upstream: any ToolUpstream
        var lastUsed: ContinuousClock.Instant
        /// Calls holding the instance: it is never stopped under them.
        var active = 0
    }

    private struct State {
        var instances: [String: Instance] = [:]
        var stopped = false
        var sweeper: Task<Void, Never>?
    }

    enum Refusal: Error, Equatable {
        case stopped
        case full(maxInstances: Int)
    }

    let idleTimeout: Duration
    let maxInstances: Int?
    private let make: @Sendable (ServerEntry) -> any ToolUpstream
    private let onExpiry: @Sendable (String) -> Void
    private let state = Mutex(State())
    private let latest = LatestSnapshot()

    init(
        idleTimeout: Duration, maxInstances: Int? = nil, make: @escaping @Sendable (ServerEntry) -> any ToolUpstream,
        onExpiry: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.idleTimeout = idleTimeout
        self.maxInstances = maxInstances
        self.make = make
        self.onExpiry = onExpiry
    }

    var snapshot: UpstreamSnapshot? { latest.value }
    var count: Int { state.withLock { $0.instances.count } }

    func observe(_ observer: @escaping @Sendable () -> Void) {
        latest.observe(observer)
    }

    /// The key's instance, made from `entry()` on first use, held until `release(key)`.
    func acquire(_ key: String, entry: () -> ServerEntry) -> Result<any ToolUpstream, Refusal> {
        let now = ContinuousClock.now
        let outcome = state.withLock { state -> Result<(any ToolUpstream, Bool), Refusal> in
            guard !state.stopped else { return .failure(.stopped) }
            if var existing = state.instances[key] {
                existing.lastUsed = now
                existing.active += 1
                state.instances[key] = existing
                return .success((existing.upstream, false))
            }
            if let maxInstances, state.instances.count >= maxInstances {
                return .failure(.full(maxInstances: maxInstances))
            }
            let upstream = make(entry())
            state.instances[key] = Instance(upstream: upstream, lastUsed: now, active: 1)
            if state.sweeper == nil { state.sweeper = Task { [weak self] in await self?.sweep() } }
            return .success((upstream, true))
        }
        return outcome.map { upstream, made in
            if made { latest.follow(upstream) }
            return upstream
        }
    }

    /// The end of a call that `acquire` admitted: the instance's idle time starts again.
    func release(_ key: String) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard var instance = state.instances[key] else { return }
            instance.active = max(0, instance.active - 1)
            instance.lastUsed = now
            state.instances[key] = instance
        }
    }

    /// Runs `body` with the key's instance held.
    func using<T>(_ key: String, entry: () -> ServerEntry, _ body: (any ToolUpstream) async -> T) async
        -> Result<T, Refusal>
    {
        switch acquire(key, entry: entry) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let upstream):
            defer { release(key) }
            return .success(await body(upstream))
        }
    }

    /// Stops the instances idle longer than `idleTimeout`, checked a few times per timeout.
    private func sweep() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: idleTimeout / 4)
            let now = ContinuousClock.now
            let idle = state.withLock { state -> [(String, any ToolUpstream)] in
                let expired = state.instances.filter { $0.value.active == 0 && now - $0.value.lastUsed >= idleTimeout }
                for key in expired.keys { state.instances[key] = nil }
                return expired.map { ($0.key, $0.value.upstream) }
            }
            for (key, instance) in idle {
                await instance.shutdown()
                onExpiry(key)
            }
        }
    }

    func shutdownAll() async {
        let (all, sweeper) = state.withLock { state -> ([any ToolUpstream], Task<Void, Never>?) in
            state.stopped = true
            defer {
                state.instances = [:]
                state.sweeper = nil
            }
            return (state.instances.values.map(\.upstream), state.sweeper)
        }
        sweeper?.cancel()
        await withTaskGroup(of: Void.self) { group in
            for instance in all { group.addTask { await instance.shutdown() } }
        }
    }
}
