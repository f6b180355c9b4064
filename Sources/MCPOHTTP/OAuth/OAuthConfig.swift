import Foundation
import MCPOAuth
import MCPOConfig
import Synchronization

/// Checks the `oauth` objects of a config before anything starts (and before a reload is applied).
enum OAuthConfig {
    /// Throws the first bad `oauth` object as a config error naming the file, the server and the key
    /// (`oauth.callback_port`); returns warnings for unknown keys, worded like the config's own warnings.
    static func check(_ config: ProxyConfig, file: String) throws(ConfigError) -> [String] {
        var warnings: [String] = []
        for entry in config.servers {
            guard case .streamableHTTP = entry.transport else { continue }
            let settings: OAuthSettings?
            do {
                settings = try OAuthSettings.from(entry: entry)
            } catch .invalidSetting(_, let key, let message) {
                throw ConfigError(
                    file: file, server: entry.name, key: key.isEmpty ? "oauth" : "oauth." + key, message: message)
            } catch {
                throw ConfigError(file: file, server: entry.name, key: "oauth", message: error.description)
            }
            for key in settings?.unknownKeys ?? [] {
                warnings.append("\(file): server '\(entry.name)': unknown key 'oauth.\(key)' is ignored")
            }
        }
        return warnings
    }
}

/// Where the HTTP server listens, known once it runs (`--port 0` picks the port then).
final class ListeningAddress: Sendable {
    private let port = Mutex<Int?>(nil)

    func set(port value: Int) {
        port.withLock { $0 = value }
    }

    /// The port, waiting (at most `bound`) until the server listens.
    func port(within bound: Duration) async -> Int? {
        let deadline = ContinuousClock.now + bound
        while true {
            if let known = port.withLock({ $0 }) { return known }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The proxy's own `/oauth/<server>/callback`: `http(s)://<host>:<port><root path>/oauth/<server>/callback`,
    /// with `localhost` for a wildcard bind address.
    func callbackURL(server: String, settings: ProxySettings) async -> String? {
        var port = settings.port
        if port == 0 {
            guard let bound = await self.port(within: .seconds(30)) else { return nil }
            port = bound
        }
        let scheme = settings.tls == nil ? "http" : "https"
        var host = settings.host
        if ["", "0.0.0.0", "::", "[::]", "*"].contains(host) {
            host = "localhost"
        } else if host.contains(":"), !host.hasPrefix("[") {
            host = "[\(host)]"
        }
        return "\(scheme)://\(host):\(port)\(settings.rootPath)\(OAuthRoute.urlPath(server: server, kind: .callback))"
    }
}
