import MCPOConfig
import NIOCore
import Testing

@testable import MCPOHTTP

/// The bounds of a client connection as a value, without a connection.
@Suite("connection deadlines")
struct ConnectionDeadlinesTests {
    let limits = ConnectionDeadlines.Limits(head: .seconds(30), body: .seconds(30), idle: .seconds(75))
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    private func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test("a new connection has the head bound for its first request, whether it sends nothing or a little")
    func firstRequest() {
        var silent = ConnectionDeadlines(openedAt: start, limits: limits)
        #expect(silent.expired(at: at(29)) == nil)
        #expect(silent.expired(at: at(30)) == .head)
        silent.bytesArrived(at: at(20))
        #expect(silent.expired(at: at(49)) == nil)
        #expect(silent.expired(at: at(50)) == .head)
    }

    @Test("a head that trickles in is bounded from its first byte, however often bytes come")
    func tricklingHead() {
        var deadlines = ConnectionDeadlines(openedAt: start, limits: limits)
        for second in stride(from: Int64(0), through: 25, by: 5) { deadlines.bytesArrived(at: at(second)) }
        #expect(deadlines.phase == .receivingHead(since: at(0)))
        #expect(deadlines.expired(at: at(30)) == .head)
    }

    @Test("a body may pause up to the body bound between reads")
    func body() {
        var deadlines = ConnectionDeadlines(openedAt: start, limits: limits)
        deadlines.bytesArrived(at: at(0))
        deadlines.headReceived(at: at(1))
        #expect(deadlines.expired(at: at(30)) == nil)
        deadlines.bytesArrived(at: at(25))
        #expect(deadlines.expired(at: at(54)) == nil)
        #expect(deadlines.expired(at: at(55)) == .body)
    }

    @Test("no bound while a request is answered; the idle bound after its answer; the head bound again after that")
    func answeringAndIdle() {
        var deadlines = ConnectionDeadlines(openedAt: start, limits: limits)
        deadlines.bytesArrived(at: at(0))
        deadlines.headReceived(at: at(0))
        deadlines.requestComplete()
        #expect(deadlines.expired(at: at(3600)) == nil)
        deadlines.answerSent(at: at(3600))
        #expect(deadlines.expired(at: at(3674)) == nil)
        #expect(deadlines.expired(at: at(3675)) == .idle)
        deadlines.bytesArrived(at: at(3670))
        #expect(deadlines.expired(at: at(3699)) == nil)
        #expect(deadlines.expired(at: at(3700)) == .head)
    }

    @Test("a 100 Continue or an interim write is not the end of an answer")
    func answerSentOnlyWhileAnswering() {
        var deadlines = ConnectionDeadlines(openedAt: start, limits: limits)
        deadlines.bytesArrived(at: at(0))
        deadlines.headReceived(at: at(0))
        deadlines.answerSent(at: at(1))
        #expect(deadlines.phase == .receivingBody(lastRead: at(0)))
    }

    @Test("limits come from the settings in seconds")
    func fromSettings() {
        var bounds = ClientConnectionBounds()
        bounds.headSeconds = 1.5
        let limits = ConnectionDeadlines.Limits(bounds)
        #expect(limits.head == .milliseconds(1500))
        #expect(limits.idle == .seconds(75))
    }
}

@Suite("closures logged in summary")
struct BoundsLogWindowTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test("the first closure is logged; the next ones within the span are counted and flushed once")
    func summarised() {
        var window = BoundsLogWindow(span: .seconds(10))
        #expect(window.record(.head, at: start) == .log)
        #expect(window.record(.head, at: start + .seconds(1)) == .counted(flushAt: start + .seconds(10)))
        for _ in 0..<1998 { #expect(window.record(.head, at: start + .seconds(2)) == .counted(flushAt: nil)) }
        #expect(window.record(.body, at: start + .seconds(2)) == .log, "each bound has its own window")
        #expect(window.flush(.head, at: start + .seconds(10)) == 1999)
        #expect(window.flush(.head, at: start + .seconds(10)) == 0)
        #expect(window.record(.head, at: start + .seconds(11)) == .counted(flushAt: start + .seconds(20)))
        #expect(window.record(.head, at: start + .seconds(30)) == .log)
    }

    @Test("the reason names the flag")
    func seconds() {
        #expect(BoundsReport.seconds(.seconds(30)) == "30")
        #expect(BoundsReport.seconds(.milliseconds(1500)) == "1.5")
    }
}
