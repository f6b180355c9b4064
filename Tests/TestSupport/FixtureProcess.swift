import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

public struct FixtureStartFailure: Error, CustomStringConvertible {
    public let description: String
}

/// A fixture server process listening on a known port of 127.0.0.1: started (and started again after a
/// kill, on the same port) and always killed by its own pid.
public final class FixtureProcess: Sendable {
    public let port: Int
    private let arguments: [String]
    private let process = Mutex<Process?>(nil)

    public init(port: Int, arguments: [String]) {
        self.port = port
        self.arguments = arguments
    }

    /// Starts the process and waits (bounded) until its port accepts connections.
    public func launch(bound: Duration = .seconds(120)) async throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: arguments[0])
        child.arguments = Array(arguments.dropFirst())
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        process.withLock { $0 = child }
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if FixturePorts.accepts(port) { return }
            if !child.isRunning {
                throw FixtureStartFailure(description: "\(arguments) exited with \(child.terminationStatus)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await stop()
        throw FixtureStartFailure(description: "\(arguments) did not listen within \(bound)")
    }

    /// SIGKILL to the process, then waits (bounded) until it is gone.
    public func stop() async {
        guard let child = process.withLock({ $0.take() }) else { return }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(10)
        while child.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
