import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// nginx of Debian's package in front of some backends on 127.0.0.1, round robin, on a free port, with its
/// configuration, logs and temporary files in a folder of its own. Stopped by its own pid.
public final class NginxBalancer: Sendable {
    public let port: Int
    public let folder: String
    private let process = Mutex<Process?>(nil)

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, folder: String) {
        self.port = port
        self.folder = folder
    }

    /// Starts nginx balancing over `backends` (ports of 127.0.0.1), waiting until it accepts connections.
    public static func start(backends: [Int]) async throws -> NginxBalancer {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") else {
            throw FixtureFailure("nginx is not installed (Debian: apt-get install nginx; scripts/setup-test-env.sh)")
        }
        let folder = NSTemporaryDirectory() + "mcpo-nginx-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/logs", withIntermediateDirectories: true)
        let balancer = NginxBalancer(port: try FixturePorts.reserve(), folder: folder)
        let servers = backends.map { "    server 127.0.0.1:\($0) max_fails=1 fail_timeout=2s;" }.joined(separator: "\n")
        let user = geteuid() == 0 ? "user root;\n" : ""
        let configuration = """
            \(user)worker_processes 1;
            daemon off;
            error_log \(folder)/logs/error.log warn;
            pid \(folder)/nginx.pid;
            events { worker_connections 1024; }
            http {
              access_log off;
              client_body_temp_path \(folder)/client_body;
              proxy_temp_path \(folder)/proxy;
              fastcgi_temp_path \(folder)/fastcgi;
              uwsgi_temp_path \(folder)/uwsgi;
              scgi_temp_path \(folder)/scgi;
              upstream replicas {
            \(servers)
                keepalive 32;
              }
              server {
                listen 127.0.0.1:\(balancer.port);
                location / {
                  proxy_pass http://replicas;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_set_header Host $host:$server_port;
                  proxy_next_upstream error timeout http_502;
                  proxy_connect_timeout 2s;
                  proxy_read_timeout 120s;
                }
              }
            }
            """
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: folder + "/nginx.conf"))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        child.arguments = ["-p", folder, "-c", folder + "/nginx.conf"]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        balancer.process.withLock { $0 = child }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if FixturePorts.accepts(balancer.port) { return balancer }
            if !child.isRunning {
                let log = (try? String(contentsOfFile: folder + "/logs/error.log", encoding: .utf8)) ?? ""
                throw FixtureFailure("nginx exited with \(child.terminationStatus): \(log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await balancer.stop()
        throw FixtureFailure("nginx did not listen within 60 s")
    }

    /// Stops nginx (its master and its worker) and removes its folder.
    public func stop() async {
        guard let child = process.withLock({ $0.take() }) else { return }
        if child.isRunning { kill(child.processIdentifier, SIGQUIT) }
        let deadline = ContinuousClock.now + .seconds(10)
        while child.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: folder)
    }
}
