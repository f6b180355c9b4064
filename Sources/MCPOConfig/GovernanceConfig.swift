import Foundation

/// How much harm a tool can do: `low` (reads), `medium`, `high` (destroys). Ordered, so "this risk or higher" reads
/// as a comparison.
public enum ToolRisk: String, Sendable, Comparable, CaseIterable {
    case low
    case medium
    case high

    public static func < (lhs: ToolRisk, rhs: ToolRisk) -> Bool {
        lhs.order < rhs.order
    }

    private var order: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        }
    }
}

/// What the proxy does when a server lists a tool whose definition differs from the one first seen (`pinTools`).
public enum PinMode: String, Sendable, CaseIterable {
    /// Nothing is pinned.
    case off
    /// The change is logged and recorded in the audit log; the new definition is served (and pinned).
    case warn
    /// The approved definition stays in the documents; calls of the tool answer 409 until the change is approved.
    case block
}

/// `N/second|minute|hour`: a token bucket of `count` tokens refilled evenly over `period`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var period: Duration
    /// As written (`60/minute`), for messages.
    public var text: String

    public init(count: Int, period: Duration, text: String) {
        self.count = count
        self.period = period
        self.text = text
    }

    public var description: String { text }

    /// `60/minute`, `5/second`, `1000/hour`; nil for anything else.
    public static func parse(_ text: String) -> RateLimit? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0].trimmingCharacters(in: .whitespaces)), count > 0,
            count <= 1_000_000_000
        else { return nil }
        let period: Duration
        switch parts[1].trimmingCharacters(in: .whitespaces).lowercased() {
        case "second", "s", "sec": period = .seconds(1)
        case "minute", "m", "min": period = .seconds(60)
        case "hour", "h": period = .seconds(3600)
        default: return nil
        }
        return RateLimit(count: count, period: period, text: "\(count)/\(Self.unit(period))")
    }

    private static func unit(_ period: Duration) -> String {
        switch period {
        case .seconds(1): "second"
        case .seconds(60): "minute"
        default: "hour"
        }
    }
}

/// What a server's calls are held to: risk classes, confirmation, pinned definitions and rate limits.
public struct ServerGovernance: Sendable, Equatable {
    /// Tool-name globs and the risk they set, first match deciding; tools no entry matches get the risk their
    /// annotations say.
    public var toolRisk: [(glob: String, risk: ToolRisk)]
    /// Tools of this risk or higher need `"confirm": true`; nil: never.
    public var confirm: ToolRisk?
    public var pinTools: PinMode
    /// Per caller, per server.
    public var perCallerLimit: RateLimit?
    /// Per caller, per tool (by exact tool name).
    public var toolLimits: [String: RateLimit]

    public init(
        toolRisk: [(glob: String, risk: ToolRisk)] = [], confirm: ToolRisk? = nil, pinTools: PinMode = .off,
        perCallerLimit: RateLimit? = nil, toolLimits: [String: RateLimit] = [:]
    ) {
        self.toolRisk = toolRisk
        self.confirm = confirm
        self.pinTools = pinTools
        self.perCallerLimit = perCallerLimit
        self.toolLimits = toolLimits
    }

    public var hasRateLimits: Bool { perCallerLimit != nil || !toolLimits.isEmpty }

    public static func == (lhs: ServerGovernance, rhs: ServerGovernance) -> Bool {
        lhs.toolRisk.map(\.glob) == rhs.toolRisk.map(\.glob) && lhs.toolRisk.map(\.risk) == rhs.toolRisk.map(\.risk)
            && lhs.confirm == rhs.confirm && lhs.pinTools == rhs.pinTools && lhs.perCallerLimit == rhs.perCallerLimit
            && lhs.toolLimits == rhs.toolLimits
    }
}

/// Where the audit log and the pinned definitions are kept.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// An SQLite file (created 0600, its folder 0700).
    case sqlite(path: String)
    /// A PostgreSQL database (`postgres://user:password@host:port/database?sslmode=…`).
    case postgres(url: String)

    /// `sqlite:///abs/path`, `sqlite://relative/path`, a plain path, or `postgres://` / `postgresql://`.
    public static func parse(_ text: String, relativeTo base: String? = nil) -> StoreLocation? {
        let lowered = text.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            guard URLComponents(string: text)?.host?.isEmpty == false else { return nil }
            return .postgres(url: text)
        }
        var path = text
        if lowered.hasPrefix("sqlite://") { path = String(text.dropFirst("sqlite://".count)) }
        guard !path.isEmpty, !path.contains("\0"), !lowered.contains("://") || lowered.hasPrefix("sqlite://") else {
            return nil
        }
        if !path.hasPrefix("/"), let base { path = base + "/" + path }
        return .sqlite(path: path)
    }

    /// `$XDG_STATE_HOME/mcpo/audit.db`, else `~/.local/state/mcpo/audit.db`.
    public static func defaultLocation(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> StoreLocation
    {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return .sqlite(path: state + "/mcpo/audit.db")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return .sqlite(path: home + "/.local/state/mcpo/audit.db")
    }

    /// Never the password of a PostgreSQL URL.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite://" + path
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://…" }
            if components.password != nil { components.percentEncodedPassword = "***" }
            return components.string ?? "postgres://…"
        }
    }
}

/// The `audit` object: where records go and how long they stay.
public struct AuditSettings: Sendable, Equatable {
    public var store: StoreLocation
    /// Characters of each answer (and error) kept; 0 keeps none.
    public var outputChars: Int
    public var retentionDays: Int
    /// A call whose record cannot be written gets 503 instead of running.
    public var required: Bool

    public init(store: StoreLocation, outputChars: Int = 200, retentionDays: Int = 90, required: Bool = false) {
        self.store = store
        self.outputChars = outputChars
        self.retentionDays = retentionDays
        self.required = required
    }
}

/// The format of the proxy's log lines.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-12-06T02:10:38Z info mcpo: message`.
    case text
    /// One JSON object per line, for log collectors.
    case json
}
