import AsyncHTTPClient
import Foundation
import JSONValue
import NIOCore
import Synchronization
import Testing

/// Paths of what the tests run: our binaries and the Python fixture environments.
enum TestPaths {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The build folder the test binary runs from (`.build/debug`), where `mcpo` sits too.
    static let buildDirectory: URL = {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("mcpo").path) {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug")
    }()

    static var mcpo: String { buildDirectory.appendingPathComponent("mcpo").path }
    static var exampleServer: String { buildDirectory.appendingPathComponent("mcp-example-server").path }

    static func python(_ line: PythonLine) -> String {
        repositoryRoot.appendingPathComponent(".venv-\(line.rawValue)/bin/python").path
    }

    static func fixture(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures/python/\(name)").path
    }
}

/// The two lines of the official Python SDK the fixtures run on (scripts/setup-test-env.sh installs them).
enum PythonLine: String, CaseIterable, Sendable {
    case mcp1
    case mcp2

    var fastMCPServer: [String] {
        switch self {
        case .mcp1: [TestPaths.python(.mcp1), TestPaths.fixture("fastmcp_v1.py")]
        case .mcp2: [TestPaths.python(.mcp2), TestPaths.fixture("mcpserver_v2.py")]
        }
    }

    static var lowLevelServer: [String] { [TestPaths.python(.mcp1), TestPaths.fixture("lowlevel_v1.py")] }
}

struct ProxyStartFailure: Error, CustomStringConvertible {
    let description: String
}

/// A running `mcpo` process on a free port of 127.0.0.1, stopped when the test ends.
final class ProxyProcess: Sendable {
    let process: Process
    let port: Int
    let scheme: String
    private let log: LogCollector

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }
    var logText: String { log.text }

    private init(process: Process, port: Int, scheme: String, log: LogCollector) {
        self.process = process
        self.port = port
        self.scheme = scheme
        self.log = log
    }

    /// Starts `mcpo <arguments>` (with `--host 127.0.0.1 --port 0` added) and waits until it serves.
    static func start(
        _ arguments: [String], environment: [String: String] = [:], scheme: String = "http",
        startupBound: Duration = .seconds(120)
    ) async throws -> ProxyProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.mcpo)
        process.arguments = ["--host", "127.0.0.1", "--port", "0"] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = errorPipe
        let log = LogCollector()
        errorPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                log.append(data)
            }
        }
        try process.run()
        let deadline = ContinuousClock.now + startupBound
        while ContinuousClock.now < deadline {
            if let port = log.servingPort() {
                return ProxyProcess(process: process, port: port, scheme: scheme, log: log)
            }
            if !process.isRunning {
                throw ProxyStartFailure(
                    description: "mcpo exited with \(process.terminationStatus) before serving:\n\(log.text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw ProxyStartFailure(description: "mcpo did not start serving within \(startupBound):\n\(log.text)")
    }

    /// SIGTERM, then waits (bounded) for the exit; returns the exit status.
    @discardableResult
    func stop(bound: Duration = .seconds(20)) async -> Int32? {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + bound
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    /// Waits (bounded) until the log contains `text`.
    func waitForLog(_ text: String, bound: Duration = .seconds(90)) async -> Bool {
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if logText.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// Runs `body` against a fresh proxy and always stops it afterwards.
func withProxy<T>(
    _ arguments: [String], environment: [String: String] = [:], scheme: String = "http",
    _ body: (ProxyProcess) async throws -> T
) async throws -> T {
    let proxy = try await ProxyProcess.start(arguments, environment: environment, scheme: scheme)
    do {
        let result = try await body(proxy)
        await proxy.stop()
        return result
    } catch {
        await proxy.stop()
        throw error
    }
}

/// Everything the proxy wrote to stderr and stdout.
final class LogCollector: Sendable {
    private let data = Mutex(Data())

    func append(_ chunk: Data) {
        data.withLock { $0.append(chunk) }
    }

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }

    func servingPort() -> Int? {
        let text = self.text
        guard let range = text.range(of: "mcpo is serving on ") else { return nil }
        let rest = text[range.upperBound...]
        guard let line = rest.split(separator: "\n").first, let colon = line.lastIndex(of: ":") else { return nil }
        // A text line ends with the port; a JSON line (`--log-format json`) has the message's quote after it.
        return Int(line[line.index(after: colon)...].prefix { $0.isNumber })
    }
}
