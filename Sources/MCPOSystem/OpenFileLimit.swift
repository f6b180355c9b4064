#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`): every client connection, upstream connection
/// and stdio pipe is one.
///
/// Many systems start processes with a soft limit of 1,024 and a hard limit far above it; a server raises its
/// soft limit to the hard one at start (as nginx does with `worker_rlimit_nofile`), so that its own bound on
/// connections is what holds, not an accident of the shell that started it.
public enum OpenFileLimit {
    /// The soft and hard limits now (`nil` hard: unlimited).
    public static var current: (soft: Int, hard: Int?) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (1024, nil) }
        return (count(limit.rlim_cur) ?? Int.max, count(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit (capped at `ceiling`); returns the soft limit in force afterwards.
    @discardableResult
    public static func raise(toAtMost ceiling: Int = 1 << 20) -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return current.soft }
        let wanted = min(count(limit.rlim_max) ?? ceiling, ceiling)
        if let soft = count(limit.rlim_cur), soft >= wanted { return soft }
        limit.rlim_cur = rlim_t(wanted)
        _ = setrlimit(resource, &limit)
        return current.soft
    }

    #if canImport(Glibc)
        private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        private static let resource = RLIMIT_NOFILE
    #endif

    private static func count(_ value: rlim_t) -> Int? {
        value == rlim_t.max || value > rlim_t(Int.max) ? nil : Int(value)
    }
}
