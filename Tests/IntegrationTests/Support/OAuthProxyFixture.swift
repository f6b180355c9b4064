import Crypto
import Foundation
import JSONValue
import TestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The real `mcpo` in config mode in front of the Python OAuth fixture (an authorization server and a protected
/// MCP server), with its own `XDG_CONFIG_HOME` so token files land in a folder the test owns.
struct OAuthProxySetup: Sendable {
    let fixture: OAuthFixtureServers
    let proxy: ProxyProcess
    /// The folder with the config file and `xdg/` (removed afterwards).
    let folder: String
    /// The loopback callback port given to the server (`callback_port`).
    let callbackPort: Int

    var configFile: String { folder + "/mcp.json" }
    var tokensFolder: String { folder + "/xdg/mcpo/tokens" }

    /// `POST /secure/whoami` (the fixture's tool: the token's subject and scopes) with `headers`.
    func whoami(_ headers: [(String, String)] = []) async throws -> HTTPReply {
        try await TestHTTP.post(proxy, "/secure/whoami", headers: headers)
    }

    func get(_ path: String, _ headers: [(String, String)] = []) async throws -> HTTPReply {
        try await TestHTTP.get(proxy, path, headers: headers)
    }

    /// The `secure` entry of `/readyz`.
    func readiness() async throws -> JSON? {
        try await get("/readyz").json?["servers"]?["secure"]
    }

    /// Every bearer token the protected MCP server saw, in order (they are never to be found in the proxy's log).
    func upstreamTokens() async throws -> [String] {
        try await fixture.log().compactMap { entry in
            guard entry["server"] == "rs", let value = entry["authorization"]?.stringValue, value.hasPrefix("Bearer ")
            else { return nil }
            return String(value.dropFirst(7))
        }
    }

    /// Refresh tokens sent to the authorization server.
    func refreshTokensSent() async throws -> [String] {
        try await fixture.requests("as", "POST", "/token").compactMap { $0["form"]?["refresh_token"]?.stringValue }
    }

    /// How many token requests of `grant` the authorization server answered.
    func tokenRequests(grant: String) async throws -> Int {
        try await fixture.requests("as", "POST", "/token").filter { $0["form"]?["grant_type"]?.stringValue == grant }
            .count
    }
}

/// Starts the fixture (with `fixtureFlags`) and `mcpo --config` serving `secure` (streamable HTTP, with `oauth`:
/// `server_url` and `callback_port` set, then `oauth`'s members) plus `extraServers` (name → entry JSON text);
/// always stops both and removes the folder.
func withOAuthProxy<T>(
    fixtureFlags: [String] = [], oauth: JSON = [:], extraServers: [String: String] = [:],
    arguments: [String] = [], _ body: (OAuthProxySetup) async throws -> T
) async throws -> T {
    let fixture = try await OAuthFixtureServers.start(fixtureFlags)
    let folder = NSTemporaryDirectory() + "mcpo-oauth-proxy-" + UUID().uuidString
    do {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let callbackPort = try FixturePorts.reserve()
        var settings: OrderedJSONObject = [
            "server_url": .string(fixture.mcpURL), "callback_port": .int(callbackPort),
        ]
        for (key, value) in oauth.objectValue ?? [:] { settings[key] = value }
        let secure: JSON = ["type": "streamable-http", "url": .string(fixture.mcpURL), "oauth": .object(settings)]
        var servers = "\"secure\": \(secure.text)"
        for (name, entry) in extraServers.sorted(by: { $0.key < $1.key }) { servers += ", \"\(name)\": \(entry)" }
        try Data("{\"mcpServers\": {\(servers)}}".utf8).write(to: URL(fileURLWithPath: folder + "/mcp.json"))
        let result = try await withProxy(
            ["--config", folder + "/mcp.json"] + arguments, environment: ["XDG_CONFIG_HOME": folder + "/xdg"]
        ) { proxy in
            try await body(
                OAuthProxySetup(fixture: fixture, proxy: proxy, folder: folder, callbackPort: callbackPort))
        }
        await fixture.stop()
        try? FileManager.default.removeItem(atPath: folder)
        return result
    } catch {
        await fixture.stop()
        try? FileManager.default.removeItem(atPath: folder)
        throw error
    }
}

/// HS256 JWTs as Open WebUI signs its user tokens (and forgeries of them).
enum TestJWT {
    static func make(_ claims: JSON, key: String, algorithm: String = "HS256") -> String {
        let header: JSON = ["alg": .string(algorithm), "typ": "JWT"]
        let input = base64URL(header.bytes) + "." + base64URL(claims.bytes)
        guard algorithm == "HS256" else { return input + "." + base64URL(Array("forged".utf8)) }
        let signature = HMAC<SHA256>.authenticationCode(
            for: Array(input.utf8), using: SymmetricKey(data: Array(key.utf8)))
        return input + "." + base64URL(Array(signature))
    }

    /// An Open WebUI user token for `id`, expiring in `lifetime` seconds (negative: already expired).
    static func openWebUI(id: String, key: String, lifetime: Int = 3600) -> String {
        make(["id": .string(id), "exp": .int(Int(Date().timeIntervalSince1970) + lifetime)], key: key)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// The permission bits of a file or folder.
func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o777
}

/// Runs headless Chromium on `url` until it exits (bounded) and returns the DOM it ended on.
func chromiumDOM(_ url: String) async throws -> String {
    let folder = NSTemporaryDirectory() + "mcpo-chromium-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let chromium = Process()
    chromium.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
    chromium.arguments = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--user-data-dir=\(folder)/profile", "--dump-dom", url,
    ]
    _ = FileManager.default.createFile(atPath: folder + "/dom.html", contents: nil)
    chromium.standardOutput = FileHandle(forWritingAtPath: folder + "/dom.html")
    chromium.standardError = FileHandle.nullDevice
    try chromium.run()
    let finished = await pollUntil(within: .seconds(90)) { !chromium.isRunning }
    if !finished {
        kill(chromium.processIdentifier, SIGKILL)
        throw ProxyStartFailure(description: "chromium did not finish within 90 s")
    }
    return try String(contentsOfFile: folder + "/dom.html", encoding: .utf8)
}

/// The query parameters of a URL (first value of each, form-decoded).
func queryParameters(_ url: String) -> [String: String] {
    guard let components = URLComponents(string: url) else { return [:] }
    var result: [String: String] = [:]
    for item in components.queryItems ?? [] where result[item.name] == nil { result[item.name] = item.value ?? "" }
    return result
}
