import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Text made from the UTC time and made again only when the second changes: it is asked for on every request
/// (`Date`) and every log line.
///
/// From `gmtime_r`, not Foundation: Hummingbird's `Application` keeps its `Date` header up to date with a task
/// that wakes every second and formats through Foundation's calendar, which loads ICU's time zone data (half a
/// MiB of resident memory and a wake-up a second for a header), and `String(format:)` runs CoreFoundation's
/// formatter.
public final class UTCSecondText: Sendable {
    private let cache = Mutex<(second: Int, text: String)>((-1, ""))
    private let format: @Sendable (tm) -> String

    public init(_ format: @escaping @Sendable (tm) -> String) {
        self.format = format
    }

    public func current() -> String {
        var clock = time(nil)
        let second = Int(clock)
        if let text = cache.withLock({ $0.second == second ? $0.text : nil }) { return text }
        var parts = tm()
        gmtime_r(&clock, &parts)
        let text = format(parts)
        cache.withLock { $0 = (second, text) }
        return text
    }

    /// `7` → `07`.
    public static func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
