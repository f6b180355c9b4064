import Foundation
import JSONValue
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A fixture process that announces itself with one JSON line on stdout (its ports, its issuer), its output kept in a
/// temporary folder: started, waited for (bounded) until it has announced and answers, and killed by its own pid.
public final class AnnouncingProcess: Sendable {
    /// The first line the process printed, as JSON.
    public let announcement: JSON
    private let process: Mutex<Process?>
    private let folder: String

    private init(announcement: JSON, process: Process, folder: String) {
        self.announcement = announcement
        self.process = Mutex(process)
        self.folder = folder
    }

    /// Starts `arguments` and waits until the announcement has come and `answers` (given it) holds; `name` is how
    /// failures call the process.
    public static func start(
        _ arguments: [String], name: String, answers: @escaping (JSON) async -> Bool
    ) async throws -> AnnouncingProcess {
        guard FileManager.default.isExecutableFile(atPath: arguments[0]) else {
            throw FixtureFailure("\(arguments[0]) missing: run scripts/setup-test-env.sh")
        }
        let folder = NSTemporaryDirectory() + "mcpo-fixture-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: arguments[0])
        child.arguments = Array(arguments.dropFirst())
        _ = FileManager.default.createFile(atPath: folder + "/stdout", contents: nil)
        _ = FileManager.default.createFile(atPath: folder + "/stderr", contents: nil)
        child.standardOutput = FileHandle(forWritingAtPath: folder + "/stdout")
        child.standardError = FileHandle(forWritingAtPath: folder + "/stderr")
        try child.run()
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: folder + "/stdout", encoding: .utf8),
                let line = text.split(separator: "\n").first, text.contains("\n"),
                let announcement = try? JSON.parse(String(line))
            {
                // The ports are bound before the line is printed; this proves the handlers answer.
                while ContinuousClock.now < deadline {
                    if await answers(announcement) {
                        return AnnouncingProcess(announcement: announcement, process: child, folder: folder)
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                break
            }
            if !child.isRunning {
                let stderr = (try? String(contentsOfFile: folder + "/stderr", encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: folder)
                throw FixtureFailure("\(name) exited: \(stderr.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(child.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: folder)
        throw FixtureFailure("\(name) did not start")
    }

    /// SIGKILL to the process, then waits (bounded) until it is gone; its folder is removed.
    public func stop() async {
        guard let child = process.withLock({ $0.take() }) else { return }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(10)
        while child.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        try? FileManager.default.removeItem(atPath: folder)
    }
}
