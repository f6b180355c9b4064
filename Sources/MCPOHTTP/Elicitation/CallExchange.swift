import JSONValue
import Logging
import MCPClient
import Synchronization

/// One tool call whose server may ask its caller questions (`elicitation/create`, or a 2026-07-28 `input_required`
/// result): the call runs on its own, and the HTTP requests of the caller take its events one at a time: its
/// outcome, or a question (answered 409 with a continuation token). The caller's answer, brought by the next
/// request with that token, goes back to the server; a question left unanswered for the continuations' timeout is
/// cancelled.
final class CallExchange: Sendable {
    enum Event: Sendable {
        case finished(CallOutcome)
        case asked(token: String, question: JSON)
    }

    private struct State {
        var events: [Event] = []
        /// The HTTP request waiting for the next event (nil: the caller left).
        var listener: CheckedContinuation<Event?, Never>?
        /// The question waiting for the caller's answer, and where the answer goes.
        var question: (token: String, reply: CheckedContinuation<ServerRequestAnswers.Answer, Never>)?
        var finished = false
    }

    /// The caller the questions belong to (`CallerKey`).
    let owner: String
    /// Cancels the upstream call (the caller left while waiting, or the proxy stops).
    let cancellation = CallCancellation()
    private let continuations: Continuations
    private let server: String
    private let logger: Logger
    private let state = Mutex(State())

    init(owner: String, continuations: Continuations, server: String, logger: Logger) {
        self.owner = owner
        self.continuations = continuations
        self.server = server
        self.logger = logger
    }

    // MARK: - The call's side

    /// A question of the server: handed to the caller, answered when the caller answers (or `cancel` after the
    /// timeout).
    func ask(_ question: JSON) async -> ServerRequestAnswers.Answer {
        let token = Continuations.newToken()
        let timeout = continuations.timeout
        let answer = await withCheckedContinuation { (reply: CheckedContinuation<ServerRequestAnswers.Answer, Never>) in
            let stale = state.withLock { state in
                defer { state.question = (token, reply) }
                return state.question
            }
            // One question at a time per call: an earlier one still open is cancelled.
            if let (staleToken, staleReply) = stale {
                continuations.forget(staleToken)
                staleReply.resume(returning: .result(["action": "cancel"]))
            }
            continuations.register(token, self)
            deliver(.asked(token: token, question: question))
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.expire(token)
            }
        }
        return answer
    }

    /// The call's outcome: the last event.
    func finish(_ outcome: CallOutcome) {
        let open = state.withLock { state -> (String, CheckedContinuation<ServerRequestAnswers.Answer, Never>)? in
            state.finished = true
            defer { state.question = nil }
            return state.question
        }
        if let (token, reply) = open {
            continuations.forget(token)
            reply.resume(returning: .result(["action": "cancel"]))
        }
        deliver(.finished(outcome))
    }

    private func expire(_ token: String) {
        let reply = state.withLock { state -> CheckedContinuation<ServerRequestAnswers.Answer, Never>? in
            guard let question = state.question, question.token == token else { return nil }
            state.question = nil
            return question.reply
        }
        guard let reply else { return }
        continuations.expire(token)
        logger.info(
            "[\(server)] a question to the caller was not answered within \(continuations.timeout); it was cancelled")
        reply.resume(returning: .result(["action": "cancel"]))
    }

    // MARK: - The caller's side

    /// The caller's answer to the question `token` asked; false when that question is no longer open.
    func answer(_ token: String, with answer: JSON) -> Bool {
        let reply = state.withLock { state -> CheckedContinuation<ServerRequestAnswers.Answer, Never>? in
            guard let question = state.question, question.token == token else { return nil }
            state.question = nil
            return question.reply
        }
        reply?.resume(returning: .result(answer))
        return reply != nil
    }

    /// The next event, as the outcome of the HTTP request waiting for it: the call's own, or 409 with the next
    /// question. A caller that leaves first cancels the call.
    func respond(clientLeft: CallCancellation?) async -> CallOutcome {
        let event = await withCheckedContinuation { (listener: CheckedContinuation<Event?, Never>) in
            let ready = state.withLock { state -> Event? in
                guard state.events.isEmpty else { return state.events.removeFirst() }
                state.listener = listener
                return nil
            }
            if let ready {
                listener.resume(returning: ready)
                return
            }
            let registered = clientLeft?.register { [weak self] in self?.callerLeft() }
            if clientLeft != nil, registered == nil { callerLeft() }
        }
        switch event {
        case .finished(let outcome)?:
            return outcome
        case .asked(let token, let question)?:
            return .failure(.inputRequired(question: question, continuation: token))
        case nil:
            cancellation.cancel()
            return .failure(.clientLeft)
        }
    }

    private func deliver(_ event: Event) {
        let listener = state.withLock { state -> CheckedContinuation<Event?, Never>? in
            guard let listener = state.listener else {
                state.events.append(event)
                return nil
            }
            state.listener = nil
            return listener
        }
        listener?.resume(returning: event)
    }

    private func callerLeft() {
        let listener = state.withLock { state -> CheckedContinuation<Event?, Never>? in
            defer { state.listener = nil }
            return state.listener
        }
        listener?.resume(returning: nil)
    }
}
