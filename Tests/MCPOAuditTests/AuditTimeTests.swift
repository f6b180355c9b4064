import Foundation
import Testing

@testable import MCPOAudit

@Suite struct AuditTimeTests {
    @Test("times are ISO 8601 UTC with milliseconds, and read back")
    func roundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_796_523_038.123)
        #expect(AuditTime.text(date) == "2026-12-06T02:10:38.123Z")
        let parsed = try #require(AuditTime.parse("2026-12-06T02:10:38.123Z"))
        #expect(abs(parsed.timeIntervalSince1970 - 1_796_523_038.123) < 0.0005)
        #expect(AuditTime.parse("2026-12-06T02:10:38Z")?.timeIntervalSince1970 == 1_796_523_038)
        #expect(AuditTime.parse("2026-12-06T02:10:38+00:00")?.timeIntervalSince1970 == 1_796_523_038)
        #expect(AuditTime.parse("2026-12-06")?.timeIntervalSince1970 == 1_796_515_200)
        for bad in ["", "yesterday", "2026-13-01", "2026-12-06T25:00:00Z", "1h30", "-5m", "12"] {
            #expect(AuditTime.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("durations back from now: 90s, 15m, 1h, 7d")
    func durations() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(AuditTime.parse("90s", now: now)?.timeIntervalSince1970 == 999_910)
        #expect(AuditTime.parse("15m", now: now)?.timeIntervalSince1970 == 999_100)
        #expect(AuditTime.parse("1h", now: now)?.timeIntervalSince1970 == 996_400)
        #expect(AuditTime.parse("7d", now: now)?.timeIntervalSince1970 == 395_200)
    }

    @Test("a cursor is opaque text that reads back; junk is no cursor")
    func cursors() {
        let cursor = AuditCursor(position: 1_796_523_038_123)
        #expect(AuditCursor(text: cursor.text) == cursor)
        #expect(AuditCursor(text: "not a cursor") == nil)
        #expect(AuditCursor(text: "") == nil)
    }

    @Test("output is cut to a number of characters, not bytes; 0 keeps none")
    func truncation() {
        #expect(AuditRecord.truncated("héllo wörld", to: 5) == "héllo")
        #expect(AuditRecord.truncated("short", to: 200) == "short")
        #expect(AuditRecord.truncated("anything", to: 0) == nil)
    }
}
