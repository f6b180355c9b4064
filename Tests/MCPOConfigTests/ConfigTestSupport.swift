import Foundation
import JSONValue
import MCPOConfig

/// A fresh folder for config files, removed by `remove()`.
struct ConfigDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/mcpo-config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` in the folder and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The error loading `path` gives, or nil when it loads.
func loadError(_ path: String, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try ConfigLoader.load(path: path, environment: environment)
        return nil
    } catch {
        return error
    }
}

/// The error parsing a config whose `mcpServers` holds `entries` (JSON text), as file `path`.
func entryError(_ entries: String, path: String = "mcp.json", environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try ConfigLoader.parse(text: "{\"mcpServers\": {\(entries)}}", path: path, environment: environment)
        return nil
    } catch {
        return error
    }
}

/// Parses a config whose `mcpServers` holds `entries` (JSON text) from the virtual file `mcp.json`.
func parseEntries(_ entries: String, environment: [String: String] = [:]) throws -> ProxyConfig {
    try ConfigLoader.parse(text: "{\"mcpServers\": {\(entries)}}", path: "mcp.json", environment: environment)
}

/// The repository's root folder (through the symlinks of a scratch package, if any).
let repositoryRoot: String = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
