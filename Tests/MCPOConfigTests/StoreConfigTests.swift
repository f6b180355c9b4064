import Foundation
import MCPOConfig
import Testing

/// `store`, `storePoolSize` and `storeKeyFile`: the store replicas share and the key that seals its OAuth secrets.
@Suite struct StoreConfigTests {
    static let goodKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

    @Test("store, pool size and key file read; the audit log goes to the store")
    func keys() throws {
        let folder = NSTemporaryDirectory() + "mcpo-store-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data((Self.goodKey + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/store.key"))
        let config = try ConfigLoader.parse(
            text: #"""
                {"store": "${DB}", "storePoolSize": 8, "storeKeyFile": "store.key", "audit": {}, "mcpServers": {}}
                """#, path: folder + "/gw.json", environment: ["DB": "postgres://u:p@db:5432/mcpo?sslmode=require"])
        #expect(config.store == .postgres(url: "postgres://u:p@db:5432/mcpo?sslmode=require"))
        #expect(config.storePoolSize == 8)
        #expect(config.storeKey?.bytes == Array(0..<32))
        #expect(config.audit?.store == config.store)
        #expect("\(config.storeKey!)" == "StoreKey(***)")  // read just above
    }

    @Test(
        "every wrong value named by its key, the key's content never shown",
        arguments: [
            (
                #"{"store": 5, "mcpServers": {}}"#, "store",
                "expected postgres://user:password@host:5432/database?sslmode=require, sqlite:///path, or a path"
            ),
            (#"{"storePoolSize": 1, "mcpServers": {}}"#, "storePoolSize", "expected a whole number from 2 to 100"),
            (
                #"{"storeKeyFile": "", "mcpServers": {}}"#, "storeKeyFile",
                "expected the path of a file holding \(StoreKey.expected)"
            ),
            (
                #"{"storeKeyFile": "/nonexistent/key", "mcpServers": {}}"#, "storeKeyFile",
                "cannot read /nonexistent/key"
            ),
            (
                #"{"store": "postgres://db/a", "audit": {"store": "sqlite:///x.db"}, "mcpServers": {}}"#, "audit.store",
                "names another store than 'store'; the audit log goes to the shared store: remove one"
            ),
        ])
    func bad(text: String, key: String, message: String) throws {
        do {
            _ = try ConfigLoader.parse(text: text, path: "/etc/gw.json", environment: [:])
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error == ConfigError(file: "/etc/gw.json", key: key, message: message))
        }
    }

    @Test("a key file that is not 32 bytes of base64 is refused without showing what it holds")
    func wrongKey() throws {
        let file = NSTemporaryDirectory() + "mcpo-key-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data("not-a-secret-key-but-secret-anyway".utf8).write(to: URL(fileURLWithPath: file))
        do {
            _ = try ConfigLoader.parse(
                text: #"{"storeKeyFile": "\#(file)", "mcpServers": {}}"#, path: "/etc/gw.json", environment: [:])
            Issue.record("accepted")
        } catch {
            #expect(
                error.description
                    == "Invalid configuration in /etc/gw.json: key 'storeKeyFile': \(file) does not hold \(StoreKey.expected)"
            )
            #expect(!error.description.contains("secret-anyway"))
        }
        #expect(StoreKey(base64: Self.goodKey) != nil)
        #expect(StoreKey(base64: String(Self.goodKey.dropLast(4))) == nil, "24 bytes")
        #expect(StoreKey(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8") == nil, "unpadded")
    }
}
