/// One stage of a tool call, in the manner of Hummingbird's `RouterMiddleware`: it gets the call on its way in and
/// either answers it itself (a refusal) or passes it, perhaps changed, to the stages after it through `next`, and
/// then sees their outcome on its way back.
///
/// Each stage is a small type with one job; `ToolCallPipeline` says in which order they run.
protocol CallStage: Sendable {
    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome
}

/// The stages after one stage: calling it runs the next stage with the rest behind it. Made once per route table;
/// a call costs no allocation to pass from one stage to the next.
struct CallChain: Sendable {
    private let stages: [any CallStage]
    private let position: Int

    init(_ stages: [any CallStage]) {
        self.init(stages, position: 0)
    }

    private init(_ stages: [any CallStage], position: Int) {
        self.stages = stages
        self.position = position
    }

    func callAsFunction(_ call: ToolCall) async -> CallOutcome {
        guard position < stages.count else {
            // The last stage (the upstream call) never passes a call on.
            return .failure(.upstream(server: call.server.name, .unavailable(reason: "no stage answered the call")))
        }
        return await stages[position].handle(call, next: CallChain(stages, position: position + 1))
    }
}
