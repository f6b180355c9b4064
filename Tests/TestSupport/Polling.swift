/// Polls `condition` until it holds or `bound` passes; true when it held (checked once more at the end).
public func pollUntil(
    within bound: Duration = .seconds(90), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + bound
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
