import Foundation
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A Python MCP server listening on a free port of 127.0.0.1, killed by pid when done; can be killed and
/// started again on the same port.
final class RemotePeer: Sendable {
    let port: Int
    let scheme: String
    private let arguments: [String]
    private let process = Mutex<Process?>(nil)

    private init(port: Int, arguments: [String], scheme: String = "http") {
        self.port = port
        self.arguments = arguments
        self.scheme = scheme
    }

    /// An SDK fixture (`transport` is `sse` or `streamable-http`); not started yet.
    static func sdk(_ line: PythonLine, transport: String, flags: [String] = []) throws -> RemotePeer {
        let port = try LocalPort.free()
        return RemotePeer(
            port: port, arguments: line.fastMCPServer + ["--transport", transport] + flags + ["--port", String(port)])
    }

    /// The standard-library behaviours fixture (http_behaviors.py), over HTTPS with `tls`; not started yet.
    static func behaviors(tls: SelfSignedCertificate? = nil) throws -> RemotePeer {
        let port = try LocalPort.free()
        let tlsArguments = tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? []
        return RemotePeer(
            port: port,
            arguments: [TestPaths.python(.mcp1), TestPaths.fixture("http_behaviors.py"), "--port", String(port)]
                + tlsArguments,
            scheme: tls == nil ? "http" : "https")
    }

    func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    /// Starts the process and waits (bounded) until the port accepts connections.
    func launch(bound: Duration = .seconds(120)) async throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: arguments[0])
        child.arguments = Array(arguments.dropFirst())
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        process.withLock { $0 = child }
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            if LocalPort.accepts(port) { return }
            if !child.isRunning {
                throw ProxyStartFailure(description: "\(arguments) exited with \(child.terminationStatus)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await stop()
        throw ProxyStartFailure(description: "\(arguments) did not listen within \(bound)")
    }

    /// SIGKILL to the process this peer started; waits (bounded) until it is gone.
    func stop() async {
        guard let child = process.withLock({ $0.take() }) else { return }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(10)
        while child.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

/// Runs `body` with the peer and always kills it afterwards (started first unless `started` is false).
func withRemotePeer<T>(
    _ peer: RemotePeer, started: Bool = true, _ body: (RemotePeer) async throws -> T
) async throws -> T {
    do {
        if started { try await peer.launch() }
        let result = try await body(peer)
        await peer.stop()
        return result
    } catch {
        await peer.stop()
        throw error
    }
}

/// A throwaway self-signed certificate for 127.0.0.1 (made with the openssl command line).
struct SelfSignedCertificate: Sendable {
    let directory: URL
    var certificate: String { directory.appendingPathComponent("cert.pem").path }
    var key: String { directory.appendingPathComponent("key.pem").path }

    static func make() async throws -> SelfSignedCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcpo-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let made = SelfSignedCertificate(directory: directory)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", made.key, "-out", made.certificate,
            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        // Polled, not waitUntilExit(): a blocked cooperative thread would stall every other test.
        let deadline = ContinuousClock.now + .seconds(60)
        while openssl.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        guard !openssl.isRunning, openssl.terminationStatus == 0 else {
            if openssl.isRunning { kill(openssl.processIdentifier, SIGKILL) }
            throw ProxyStartFailure(description: "openssl could not make a certificate")
        }
        return made
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

enum LocalPort {
    /// A fixture port no other test of this process has (TestSupport's `FixturePorts`).
    static func free() throws -> Int {
        try FixturePorts.reserve()
    }

    /// Whether something listens on 127.0.0.1:`port`.
    static func accepts(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}

/// Polls `condition` until it holds or `bound` passes; true when it held.
func pollUntil(
    within bound: Duration = .seconds(30), every interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + bound
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
