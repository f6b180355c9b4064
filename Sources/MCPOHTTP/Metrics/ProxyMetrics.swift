import MCPOAudit
import MCPOSystem
import Prometheus
import Synchronization

/// The proxy's metrics in a Prometheus registry (swift-prometheus), in the text format at `GET /metrics`. Series are
/// made only for configured servers and the tools they list (and the statuses answered), so no request can add
/// series of its own. What the proxy knows at any moment (servers up, calls in flight, the process's memory) is read
/// when scraped.
final class ProxyMetrics: Sendable {
    /// What `/metrics` reads of the servers when scraped.
    struct ServerReading: Sendable {
        var server: String
        var up: Bool
        var callsInFlight: Int
        var callsQueued: Int
        var restarts: Int
    }

    let registry = PrometheusCollectorRegistry()
    private let tools = Mutex<[String: ToolMetrics]>([:])
    /// The statuses the proxy answers most, made at start: counting them takes no lock.
    private let commonStatuses: [Int: Counter]
    private let otherStatuses = Mutex<[Int: Counter]>([:])
    private let auditWritten: Counter
    private let auditFailed: Counter
    private let auditSeen = Mutex<(written: Int, failed: Int)>((0, 0))
    private let restartsSeen = Mutex<[String: Int]>([:])

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    init() {
        var common: [Int: Counter] = [:]
        for status in [200, 400, 401, 403, 404, 409, 422, 428, 429, 500, 502, 503, 504] {
            common[status] = registry.makeCounter(
                descriptor: Self.name("http_requests", "total", "HTTP requests answered, by status"),
                labels: [("code", String(status))])
        }
        commonStatuses = common
        auditWritten = registry.makeCounter(
            descriptor: Self.name("audit_records", "total", "Audit records written, and lost (the store failed)"),
            labels: [("result", "written")])
        auditFailed = registry.makeCounter(
            descriptor: Self.name("audit_records", "total", "Audit records written, and lost (the store failed)"),
            labels: [("result", "failed")])
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mcpo", metricName: metric, unitName: unit, helpText: help)
    }

    /// The metrics of one tool of one server (made once, kept across route rebuilds).
    func tool(server: String, tool: String) -> ToolMetrics {
        let key = server + "\u{0}" + tool
        if let made = tools.withLock({ $0[key] }) { return made }
        let made = ToolMetrics(registry: registry, server: server, tool: tool)
        return tools.withLock { tools in
            if let existing = tools[key] { return existing }
            tools[key] = made
            return made
        }
    }

    func record(endpoint: ToolEndpoint, outcome: AuditOutcome, elapsed: Duration) {
        endpoint.metrics?.record(outcome: outcome, elapsed: elapsed)
    }

    /// One answered HTTP request, by status.
    func answered(status: Int) {
        if let counter = commonStatuses[status] ?? otherStatuses.withLock({ $0[status] }) {
            counter.increment()
            return
        }
        let counter = registry.makeCounter(
            descriptor: Self.name("http_requests", "total", "HTTP requests answered, by status"),
            labels: [("code", String(status))])
        otherStatuses.withLock { $0[status] = counter }
        counter.increment()
    }

    func definitionChanged(server: String) {
        registry.makeCounter(
            descriptor: Self.name(
                "tool_definition_changes", "total", "Tool definitions seen changing since they were approved"),
            labels: [("server", server)]
        ).increment()
    }

    func oauthRefresh(server: String, succeeded: Bool) {
        registry.makeCounter(
            descriptor: Self.name("oauth_refreshes", "total", "OAuth token refreshes toward protected servers"),
            labels: [("server", server), ("result", succeeded ? "success" : "failure")]
        ).increment()
    }

    /// The exposition text, after reading what is read when scraped.
    func exposition(servers: [ServerReading], audit: AuditWriter?) -> [UInt8] {
        for reading in servers {
            let labels = [("server", reading.server)]
            registry.makeGauge(
                descriptor: Self.name("upstream_up", "", "1 when the MCP server is connected"), labels: labels
            ).set(reading.up ? 1.0 : 0.0)
            registry.makeGauge(
                descriptor: Self.name("calls_in_flight", "", "Tool calls running on the server"), labels: labels
            ).set(Double(reading.callsInFlight))
            registry.makeGauge(
                descriptor: Self.name("calls_queued", "", "Tool calls waiting for a slot of the server"),
                labels: labels
            ).set(Double(reading.callsQueued))
            let restarts = registry.makeCounter(
                descriptor: Self.name("upstream_restarts", "total", "Connections to the server made again"),
                labels: labels)
            let added = restartsSeen.withLock { seen -> Int in
                defer { seen[reading.server] = reading.restarts }
                return max(0, reading.restarts - (seen[reading.server] ?? 0))
            }
            if added > 0 { restarts.increment(by: Int64(added)) }
        }
        if let audit {
            let (written, failed) = auditSeen.withLock { seen -> (Int, Int) in
                defer { seen = (audit.writtenCount, audit.failedCount) }
                return (audit.writtenCount - seen.written, audit.failedCount - seen.failed)
            }
            if written > 0 { auditWritten.increment(by: Int64(written)) }
            if failed > 0 { auditFailed.increment(by: Int64(failed)) }
        }
        var bytes = registry.emitToBuffer()
        bytes += ProcessMetrics.read().exposition.utf8
        return bytes
    }
}

/// One tool's call counter (by outcome, made on the outcome's first call) and duration histogram.
final class ToolMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let server: String
    private let tool: String
    private let histogram: DurationHistogram
    /// Made with the tool (the outcome of most calls): counting it takes no lock.
    private let okCounter: Counter
    private let counters = Mutex<[AuditOutcome: Counter]>([:])

    init(registry: PrometheusCollectorRegistry, server: String, tool: String) {
        self.registry = registry
        self.server = server
        self.tool = tool
        histogram = registry.makeDurationHistogram(
            descriptor: ProxyMetrics.name("tool_call_duration", "seconds", "Tool call durations, at the proxy"),
            labels: [("server", server), ("tool", tool)], buckets: ProxyMetrics.durationBuckets)
        okCounter = registry.makeCounter(
            descriptor: ProxyMetrics.name("tool_calls", "total", "Tool calls, by outcome"),
            labels: [("server", server), ("tool", tool), ("outcome", AuditOutcome.ok.rawValue)])
    }

    func record(outcome: AuditOutcome, elapsed: Duration) {
        histogram.record(elapsed)
        if outcome == .ok {
            okCounter.increment()
            return
        }
        let counter =
            counters.withLock { $0[outcome] }
            ?? {
                let made = registry.makeCounter(
                    descriptor: ProxyMetrics.name("tool_calls", "total", "Tool calls, by outcome"),
                    labels: [("server", server), ("tool", tool), ("outcome", outcome.rawValue)])
                counters.withLock { $0[outcome] = made }
                return made
            }()
        counter.increment()
    }
}
