import Foundation
import JSONValue
import Testing

@testable import MCPOAuth

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

@Suite("Token storage")
struct TokenStoreTests {
    static func tokens(_ access: String) -> OAuthTokens {
        OAuthTokens(
            accessToken: access, refreshToken: "rt-" + access, scope: "mcp",
            expiresAt: Date(timeIntervalSince1970: 2_000_000_000),
            obtainedAt: Date(timeIntervalSince1970: 1_999_990_000),
            issuer: "http://as", resource: "http://rs/mcp", clientID: "c")
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_mode & 0o777
    }

    @Test func defaultFolder() {
        #expect(
            FileTokenStore.defaultDirectory(environment: ["XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/u"])
                == "/x/cfg/mcpo/tokens")
        #expect(FileTokenStore.defaultDirectory(environment: ["HOME": "/home/u"]) == "/home/u/.config/mcpo/tokens")
        #expect(
            FileTokenStore.defaultDirectory(environment: ["XDG_CONFIG_HOME": "relative", "HOME": "/home/u"])
                == "/home/u/.config/mcpo/tokens")
    }

    @Test func filesAre0600InA0700FolderPerServerAndPerUser() async throws {
        let root = try TemporaryFolder.make()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = FileTokenStore(directory: root + "/cfg/mcpo/tokens")
        try await store.saveTokens(Self.tokens("single"), server: "secure", user: nil)
        try await store.saveTokens(Self.tokens("alice"), server: "secure", user: "alice")
        try await store.saveTokens(Self.tokens("bob"), server: "secure", user: "bob")
        try await store.saveTokens(Self.tokens("weird"), server: "a/b c", user: nil)

        let folder = root + "/cfg/mcpo/tokens"
        #expect(Self.mode(root + "/cfg") == 0o700)
        #expect(Self.mode(folder) == 0o700)
        #expect(Self.mode(folder + "/secure.users") == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files.count == 3)
        #expect(files.contains("secure.tokens.json") && files.contains("secure.users"))
        #expect(files.contains { $0.hasPrefix("a_b_c-") && $0.hasSuffix(".tokens.json") })
        let users = try FileManager.default.contentsOfDirectory(atPath: folder + "/secure.users")
        #expect(users.count == 2)
        for file in users { #expect(Self.mode(folder + "/secure.users/" + file) == 0o600) }
        #expect(Self.mode(folder + "/secure.tokens.json") == 0o600)
        #expect(!users.contains { $0.contains("alice") }, "user ids are hashed in file names")

        #expect(try await store.loadTokens(server: "secure", user: "alice") == Self.tokens("alice"))
        #expect(try await store.loadTokens(server: "secure", user: "bob") == Self.tokens("bob"))
        #expect(try await store.loadTokens(server: "secure", user: nil) == Self.tokens("single"))
        #expect(try await store.loadTokens(server: "secure", user: "carol") == nil)
        let saved = try String(contentsOfFile: folder + "/secure.tokens.json", encoding: .utf8)
        #expect(saved.contains(#""expires_at": 2000000000,"#), "\(saved)")

        try await store.deleteTokens(server: "secure", user: "alice")
        #expect(try await store.loadTokens(server: "secure", user: "alice") == nil)
        try await store.deleteTokens(server: "secure", user: "alice")  // twice is fine

        let registration = ClientRegistration(
            clientID: "client-1", clientSecret: "secret-1", authMethod: .clientSecretPost, issuer: "http://as",
            redirectURIs: ["http://localhost:3030/callback"], grantTypes: ["authorization_code"], source: .dynamic)
        try await store.saveClients([registration], server: "secure")
        #expect(try await store.loadClients(server: "secure") == [registration])
        #expect(Self.mode(folder + "/secure.clients.json") == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).allSatisfy { !$0.contains(".tmp-") })
    }

    @Test func looseModesTightenedAndLinksRefused() async throws {
        let root = try TemporaryFolder.make()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = root + "/tokens"
        #expect(mkdir(folder, 0o755) == 0)
        #expect(chmod(folder, 0o755) == 0)
        let store = FileTokenStore(directory: folder)
        try await store.saveTokens(Self.tokens("x"), server: "s", user: nil)
        #expect(Self.mode(folder) == 0o700, "a looser existing folder is made private")

        let file = folder + "/s.tokens.json"
        #expect(chmod(file, 0o644) == 0)
        #expect(try await store.loadTokens(server: "s", user: nil) == Self.tokens("x"))
        #expect(Self.mode(file) == 0o600, "a looser file is made private when read")

        let target = root + "/elsewhere.json"
        _ = FileManager.default.createFile(atPath: target, contents: Data(Self.tokens("y").json.text.utf8))
        #expect(unlink(file) == 0)
        #expect(symlink(target, file) == 0)
        let failure = await oauthFailure { try await store.loadTokens(server: "s", user: nil) }
        #expect(failure?.description.hasPrefix("token storage: cannot open \(file)") == true)
        // Writing replaces the link itself (rename), never writes through it.
        try await store.saveTokens(Self.tokens("z"), server: "s", user: nil)
        #expect(try String(contentsOfFile: target, encoding: .utf8).contains("\"y\""))
        #expect(try await store.loadTokens(server: "s", user: nil) == Self.tokens("z"))
    }

    @Test func memoryStore() async throws {
        let store = MemoryTokenStore()
        try await store.saveTokens(Self.tokens("a"), server: "s", user: "u1")
        #expect(try await store.loadTokens(server: "s", user: "u1") == Self.tokens("a"))
        #expect(try await store.loadTokens(server: "s", user: "u2") == nil)
        #expect(try await store.loadTokens(server: "s", user: nil) == nil)
        try await store.deleteTokens(server: "s", user: "u1")
        #expect(try await store.loadTokens(server: "s", user: "u1") == nil)
    }
}
