import MCPOConfig
import NIOCore

/// Which bound a client connection is under now, as a value: the connection handler tells it what happened and
/// asks whether a bound has passed. Its transitions are tested without a connection.
///
/// - A new connection has `--client-header-timeout` to deliver its first request head; a connection kept alive
///   after an answer has `--keep-alive-timeout` before the next request starts, then the head bound from its
///   first byte.
/// - Once the head is in, the body may pause at most `--client-body-timeout` between reads.
/// - While a request is answered (a long call, a progress stream) no bound of the connection applies: the call's
///   own timeout does.
struct ConnectionDeadlines: Sendable, Equatable {
    enum Bound: Sendable, Hashable, CaseIterable {
        case head
        case body
        case idle
    }

    enum Phase: Sendable, Equatable {
        /// Waiting for a request to start: the first one (under the head bound) or the next one (idle bound).
        case awaitingRequest(since: NIODeadline, bound: Bound)
        /// Part of a request head came; all of it must be in within the head bound of its first byte.
        case receivingHead(since: NIODeadline)
        /// The head is in and the body is coming (or its end): reads may pause at most the body bound.
        case receivingBody(lastRead: NIODeadline)
        /// The request is complete and being answered.
        case answering
    }

    let limits: Limits
    private(set) var phase: Phase

    struct Limits: Sendable, Equatable {
        var head: TimeAmount
        var body: TimeAmount
        var idle: TimeAmount

        init(head: TimeAmount, body: TimeAmount, idle: TimeAmount) {
            self.head = head
            self.body = body
            self.idle = idle
        }

        init(_ bounds: ClientConnectionBounds) {
            self.init(
                head: .fractionalSeconds(bounds.headSeconds), body: .fractionalSeconds(bounds.bodySeconds),
                idle: .fractionalSeconds(bounds.idleSeconds))
        }

        func amount(_ bound: Bound) -> TimeAmount {
            switch bound {
            case .head: head
            case .body: body
            case .idle: idle
            }
        }
    }

    init(openedAt: NIODeadline, limits: Limits) {
        self.limits = limits
        self.phase = .awaitingRequest(since: openedAt, bound: .head)
    }

    /// Bytes came from the client (before any parsing).
    mutating func bytesArrived(at now: NIODeadline) {
        switch phase {
        case .awaitingRequest:
            phase = .receivingHead(since: now)
        case .receivingBody:
            phase = .receivingBody(lastRead: now)
        case .receivingHead, .answering:
            break
        }
    }

    /// A whole request head was parsed.
    mutating func headReceived(at now: NIODeadline) {
        phase = .receivingBody(lastRead: now)
    }

    /// The request is complete: it is being answered.
    mutating func requestComplete() {
        phase = .answering
    }

    /// The answer's last byte was handed to the connection, which stays open for the next request.
    mutating func answerSent(at now: NIODeadline) {
        guard case .answering = phase else { return }
        phase = .awaitingRequest(since: now, bound: .idle)
    }

    /// The bound that has passed at `now`, if one has: the connection must be closed.
    func expired(at now: NIODeadline) -> Bound? {
        switch phase {
        case .awaitingRequest(let since, let bound):
            return now >= since + limits.amount(bound) ? bound : nil
        case .receivingHead(let since):
            return now >= since + limits.head ? .head : nil
        case .receivingBody(let lastRead):
            return now >= lastRead + limits.body ? .body : nil
        case .answering:
            return nil
        }
    }
}

extension TimeAmount {
    static func fractionalSeconds(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64((seconds * 1_000_000_000).rounded()))
    }
}
