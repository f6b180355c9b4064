import Foundation
import JSONValue

/// Which records to read: filters, a time window, and where the previous page ended. Newest first.
public struct AuditQuery: Sendable, Equatable {
    public var server: String?
    public var tool: String?
    public var caller: String?
    public var outcome: AuditOutcome?
    public var since: Date?
    public var until: Date?
    /// Records per page: 1 to `maximumLimit`.
    public var limit: Int
    /// Where the previous page ended (its `next`).
    public var cursor: AuditCursor?

    public static let defaultLimit = 100
    public static let maximumLimit = 1_000

    public init(
        server: String? = nil, tool: String? = nil, caller: String? = nil, outcome: AuditOutcome? = nil,
        since: Date? = nil, until: Date? = nil, limit: Int = AuditQuery.defaultLimit, cursor: AuditCursor? = nil
    ) {
        self.server = server
        self.tool = tool
        self.caller = caller
        self.outcome = outcome
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
    }
}

/// Where a page ended: the store's position of its last record (SQLite's row number, PostgreSQL's sequence), as
/// opaque text. Records are read newest (last written) first; the next page starts below the position.
public struct AuditCursor: Sendable, Equatable {
    public var position: Int64

    public init(position: Int64) {
        self.position = position
    }

    public static func milliseconds(of date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// `p<position>`, base64url.
    public var text: String {
        Data("p\(position)".utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public init?(text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard text.count <= 64, let data = Data(base64Encoded: base64),
            let decoded = String(data: data, encoding: .utf8), decoded.hasPrefix("p"),
            let position = Int64(decoded.dropFirst()), position >= 0
        else { return nil }
        self.init(position: position)
    }
}

/// One page of records and where the next one starts (nil on the last page).
public struct AuditPage: Sendable, Equatable {
    public var records: [AuditRecord]
    public var next: AuditCursor?

    public init(records: [AuditRecord], next: AuditCursor?) {
        self.records = records
        self.next = next
    }

    public var json: JSON {
        ["records": .array(records.map(\.json)), "next": next.map { .string($0.text) } ?? .null]
    }
}

/// What `GET /audit/stats` tells of the calls since a time.
public struct AuditStats: Sendable, Equatable {
    public struct ToolCount: Sendable, Equatable {
        public var server: String
        public var tool: String
        public var calls: Int

        public init(server: String, tool: String, calls: Int) {
            self.server = server
            self.tool = tool
            self.calls = calls
        }
    }

    public var totalCalls: Int
    /// Calls whose outcome is `ok`, as a share of all (0 to 1; 0 without calls).
    public var successRate: Double
    public var avgDurationMs: Double
    public var p95DurationMs: Double
    public var topTools: [ToolCount]

    public init(
        totalCalls: Int, successRate: Double, avgDurationMs: Double, p95DurationMs: Double, topTools: [ToolCount]
    ) {
        self.totalCalls = totalCalls
        self.successRate = successRate
        self.avgDurationMs = avgDurationMs
        self.p95DurationMs = p95DurationMs
        self.topTools = topTools
    }

    public var json: JSON {
        func rounded(_ value: Double) -> JSON { .double((value * 1000).rounded() / 1000) }
        return [
            "totalCalls": .int(totalCalls), "successRate": rounded(successRate),
            "avgDurationMs": rounded(avgDurationMs),
            "p95DurationMs": rounded(p95DurationMs),
            "topTools": .array(
                topTools.map { ["server": .string($0.server), "tool": .string($0.tool), "calls": .int($0.calls)] }),
        ]
    }
}
