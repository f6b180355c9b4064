/// The bound of the call: the tool's (config `toolTimeouts`), the server's (`timeout`) or `--timeout`, unless the
/// caller asks for another with `X-MCPO-Timeout: <seconds>`, which is honoured up to `--max-timeout`.
struct CallTimeout: CallStage {
    static let header = "X-MCPO-Timeout"

    let maxTimeout: Double

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        guard let asked = call.request.header(Self.header) else { return await next(call) }
        guard let seconds = Double(Self.trimmed(asked)), seconds > 0, seconds.isFinite else {
            return .failure(
                .badRequest(detail: "\(Self.header) must be a positive number of seconds, got '\(asked)'"))
        }
        var call = call
        call.timeout = min(seconds, maxTimeout)
        return await next(call)
    }

    private static func trimmed(_ text: String) -> Substring {
        var text = Substring(text)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
