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
    let scheme: String
    private let fixture: FixtureProcess

    var port: Int { fixture.port }

    private init(port: Int, arguments: [String], scheme: String = "http") {
        self.fixture = FixtureProcess(port: port, arguments: arguments)
        self.scheme = scheme
    }

    /// An SDK fixture (`transport` is `sse` or `streamable-http`); not started yet.
    static func sdk(_ line: PythonLine, transport: String, flags: [String] = []) throws -> RemotePeer {
        let port = try FixturePorts.reserve()
        return RemotePeer(
            port: port, arguments: line.fastMCPServer + ["--transport", transport] + flags + ["--port", String(port)])
    }

    /// The standard-library behaviours fixture (http_behaviors.py), over HTTPS with `tls`; not started yet.
    static func behaviors(tls: SelfSignedCertificate? = nil) throws -> RemotePeer {
        let port = try FixturePorts.reserve()
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
        try await fixture.launch(bound: bound)
    }

    /// SIGKILL to the process this peer started; waits (bounded) until it is gone.
    func stop() async {
        await fixture.stop()
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
