import MCPOConfig
import Testing

@testable import MCPOHTTP

/// The figures made of a call's duration: whole seconds and the fraction below them both count.
@Suite("duration figures")
struct DurationFiguresTests {
    @Test("the access log's milliseconds, to a tenth")
    func accessLogMilliseconds() {
        #expect(AccessLog.milliseconds(.seconds(2) + .microseconds(1_560)) == "2001.5")
        #expect(AccessLog.milliseconds(.microseconds(40)) == "0.0")
        #expect(AccessLog.milliseconds(.microseconds(950)) == "0.9")
        #expect(AccessLog.milliseconds(.seconds(61)) == "61000.0")
    }

    @Test("the audit record's milliseconds")
    func recordMilliseconds() {
        #expect(CallTrail.milliseconds(.seconds(3) + .microseconds(250)) == 3000.25)
        #expect(CallTrail.milliseconds(.nanoseconds(1_500_000)) == 1.5)
        #expect(CallTrail.milliseconds(.zero) == 0)
    }

    @Test("a token bucket refills by whole seconds and their fractions")
    func bucketRefill() {
        let limit = RateLimit(count: 60, period: .seconds(60), text: "60/minute")
        let start = ContinuousClock.now
        var bucket = TokenBucket(limit: limit, now: start)
        bucket.tokens = 0
        #expect(bucket.refilled(limit, now: start.advanced(by: .seconds(2) + .milliseconds(500))).tokens == 2.5)
        #expect(bucket.refilled(limit, now: start.advanced(by: .milliseconds(250))).tokens == 0.25)
        #expect(bucket.refilled(limit, now: start.advanced(by: .seconds(600))).tokens == 60)
    }
}
