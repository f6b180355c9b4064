import Foundation
import Synchronization

/// What a finished command printed and how it ended.
struct CommandOutcome: Sendable {
    let status: Int32
    let output: String
}

/// Runs a command to its end without blocking a thread of the cooperative pool: on two cores a blocked
/// `waitUntilExit()` stalls every other test.
enum ProcessRunner {
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        bound: Duration = .seconds(120)
    ) async throws -> CommandOutcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = Mutex(Data())
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                collected.withLock { $0.append(data) }
            }
        }
        try process.run()
        let deadline = ContinuousClock.now + bound
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // The pipe may still hold the last bytes after the exit.
        try await Task.sleep(for: .milliseconds(50))
        pipe.fileHandleForReading.readabilityHandler = nil
        let rest = (try? pipe.fileHandleForReading.readToEnd()) ?? nil
        let output = collected.withLock { data in
            if let rest { data.append(rest) }
            return String(decoding: data, as: UTF8.self)
        }
        return CommandOutcome(status: process.terminationStatus, output: output)
    }
}
