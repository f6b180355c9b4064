import Crypto
import MCPOConfig
import Testing

@testable import MCPOIdentity

@Suite("named API keys")
struct APIKeyRingTests {
    static func hex(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }

    @Test("a key matches by its text or by its SHA-256; the match names the key; anything else matches none")
    func matching() {
        let ring = APIKeyRing([
            NamedAPIKey(name: "ci", secret: .plain("ci-secret"), scopes: ["kitchen:read"]),
            NamedAPIKey(name: "ops", secret: .sha256(Self.hex("ops-secret")), scopes: ["*"]),
        ])
        #expect(ring.match("ci-secret")?.name == "ci")
        #expect(ring.match("ops-secret")?.name == "ops")
        #expect(ring.match("ops-secret")?.scopes == ["*"])
        #expect(ring.match("ci-secre") == nil)
        #expect(ring.match("ci-secret ") == nil)
        #expect(ring.match("") == nil)
        #expect(
            ring.match(Self.hex("ops-secret").map { String(format: "%02x", $0) }.joined()) == nil,
            "the digest itself is not the key")
        #expect(!ring.isEmpty)
        #expect(APIKeyRing([]).isEmpty)
    }

    @Test("--api-key keys are named cli with every scope; a key's description never holds the secret")
    func commandLineKeys() {
        let keys = AuthConfig.commandLineKeys(["top-secret"])
        #expect(keys == [NamedAPIKey(name: "cli", secret: .plain("top-secret"), scopes: ["*"])])
        #expect(!"\(keys[0])".contains("top-secret"))
        #expect(APIKeyRing(keys).match("top-secret")?.name == "cli")
    }
}
