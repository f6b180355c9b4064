import Crypto
import Foundation
import JSONValue
import MCPOAuth
import MCPOConfig
import MCPOIdentity
import NIOHTTP1
import Testing

@testable import MCPOHTTP

/// Caller identities at the HTTP face, in process: RFC 6750's statuses and challenges, per-tool scopes, documents
/// filtered per caller, RFC 9728's metadata, and what a server is told about its caller.
@Suite("identities, scopes and forwarding, in process")
struct IdentityFaceTests {
    static func tool(_ name: String) -> JSON {
        ["name": .string(name), "inputSchema": ["type": "object", "properties": [:]]]
    }

    static let kitchenTools = ["get_menu", "delete_combo", "cook"].map(tool)
    static let kitchenScopes = ServerAccess(toolScopes: [
        ToolScopeRule(toolGlob: "delete_*", scopes: ["kitchen:write"]),
        ToolScopeRule(toolGlob: "get_*", scopes: ["kitchen:read"]),
    ])
    static let keys = [
        NamedAPIKey(name: "reader", secret: .plain("reader-key"), scopes: ["kitchen:read"]),
        NamedAPIKey(name: "ops", secret: .sha256(Array(SHA256.hash(data: Array("ops-key".utf8)))), scopes: ["*"]),
    ]

    static func upstream(access: ServerAccess = kitchenScopes) -> TestUpstream {
        TestUpstream(tools: kitchenTools, access: access) { request in TestTools.text(request.name) }
    }

    static func face(
        _ upstream: TestUpstream, auth: AuthConfig = AuthConfig(apiKeys: keys),
        configure: @escaping (inout ProxySettings) -> Void = { _ in }
    ) -> Face {
        Face(upstream: upstream) { settings in
            settings.auth = auth
            configure(&settings)
        }
    }

    static func bearer(_ credential: String) -> [(String, String)] { [("Authorization", "Bearer " + credential)] }

    @Test("with an auth object: 401 Bearer realm=\"mcpo\" without a credential, 403 for an unknown key")
    func statuses() async {
        let face = Self.face(Self.upstream())
        let missing = await face.post("/cook", [:])
        #expect(missing.status == 401)
        #expect(missing.header("www-authenticate") == #"Bearer realm="mcpo""#)
        #expect(missing.json == ["detail": "Missing or invalid Authorization header"])
        let unknown = await face.post("/cook", [:], headers: Self.bearer("nope"))
        #expect(unknown.status == 403)
        #expect(unknown.json == ["detail": "Invalid API key"])
        #expect(await face.post("/cook", [:], headers: Self.bearer("ops-key")).json == "cook", "a sha256 key")
    }

    @Test(
        "toolScopes: 403 insufficient_scope with the scopes needed; the first matching glob decides; no match, no scope"
    )
    func scopes() async {
        let upstream = Self.upstream()
        let face = Self.face(upstream)
        #expect(await face.post("/get_menu", [:], headers: Self.bearer("reader-key")).json == "get_menu")
        #expect(await face.post("/cook", [:], headers: Self.bearer("reader-key")).json == "cook")
        let refused = await face.post("/delete_combo", [:], headers: Self.bearer("reader-key"))
        #expect(refused.status == 403)
        #expect(refused.header("www-authenticate") == #"Bearer error="insufficient_scope", scope="kitchen:write""#)
        #expect(
            refused.json == [
                "detail": "The call of delete_combo needs the scope kitchen:write; the credential lacks kitchen:write",
                "required_scopes": ["kitchen:write"],
            ])
        #expect(await face.post("/delete_combo", [:], headers: Self.bearer("ops-key")).json == "delete_combo")
        #expect(upstream.received.map(\.name) == ["get_menu", "cook", "delete_combo"], "the refused call never left")
    }

    @Test("a document asked for with a credential lists only the tools it may call; without one, every tool")
    func filteredDocuments() async throws {
        let face = Self.face(Self.upstream())
        func paths(_ answer: ReceivedAnswer) -> [String] {
            answer.json?["paths"]?.objectValue.map { Array($0.keys) }?.sorted() ?? []
        }
        let everyone = await face.request(.GET, "/openapi.json")
        #expect(everyone.status == 200)
        #expect(paths(everyone) == ["/cook", "/delete_combo", "/get_menu"])
        let reader = await face.request(.GET, "/openapi.json", headers: Self.bearer("reader-key"))
        #expect(paths(reader) == ["/cook", "/get_menu"])
        #expect(
            reader.json?["paths"]?["/get_menu"]?["post"]?["operationId"]
                == everyone.json?["paths"]?["/get_menu"]?["post"]?["operationId"], "the same ids")
        #expect(paths(await face.request(.GET, "/openapi.json", headers: Self.bearer("ops-key"))) == paths(everyone))
        #expect(await face.request(.GET, "/openapi.json", headers: Self.bearer("wrong")).status == 403)
    }

    @Test("with issuers: RFC 9728 metadata names the resource, the issuers and the scopes; 401s point at it")
    func protectedResourceMetadata() async throws {
        let issuer = JWTIssuerSettings(issuer: "https://idp.example.com/realms/main", audiences: ["mcpo"])
        let face = Self.face(Self.upstream(), auth: AuthConfig(apiKeys: Self.keys, jwtIssuers: [issuer]))
        let metadata = await face.request(
            .GET, "/.well-known/oauth-protected-resource", headers: [("Host", "gw.example.com")])
        #expect(metadata.status == 200)
        #expect(metadata.json?["resource"] == "http://gw.example.com/")
        #expect(metadata.json?["authorization_servers"] == ["https://idp.example.com/realms/main"])
        #expect(metadata.json?["scopes_supported"] == ["kitchen:write", "kitchen:read"])
        #expect(metadata.json?["bearer_methods_supported"] == ["header"])

        let missing = await face.post("/cook", [:], headers: [("Host", "gw.example.com")])
        #expect(
            missing.header("www-authenticate")
                == #"Bearer realm="mcpo", resource_metadata="http://gw.example.com/.well-known/oauth-protected-resource""#
        )
        // A JWT of an issuer the proxy does not know: 401 invalid_token with the reason, never the token.
        let stranger = HS256JWT.sign(
            ["iss": "https://evil.example.com", "aud": "mcpo", "sub": "x", "exp": 4_000_000_000],
            key: SymmetricKey(size: .bits256))
        let refused = await face.post("/cook", [:], headers: Self.bearer(stranger) + [("Host", "gw.example.com")])
        #expect(refused.status == 401)
        #expect(refused.json == ["detail": "the token's issuer is unknown"])
        #expect(
            refused.header("www-authenticate")
                == #"Bearer error="invalid_token", error_description="the token's issuer is unknown", "#
                + #"resource_metadata="http://gw.example.com/.well-known/oauth-protected-resource""#)
        #expect(!refused.body.contains(stranger))
        #expect(await face.post("/cook", [:], headers: Self.bearer("ops-key")).json == "cook", "keys still work")
        await face.shutdown()
    }

    @Test("without issuers there is no RFC 9728 document")
    func noMetadataWithoutIssuers() async {
        let face = Self.face(Self.upstream())
        #expect(await face.request(.GET, "/.well-known/oauth-protected-resource").status == 404)
    }

    @Test("forwardHeaders are filled from the verified caller; empty values are left out; the caller's own never pass")
    func forwardedHeaders() async throws {
        let access = ServerAccess(forwardHeaders: [
            (name: "X-User-Id", template: "{{user}}"), (name: "X-Key", template: "key={{keyName}}"),
            (name: "X-Tenant", template: "{{tenant}}"), (name: "X-Email", template: "{{claims.email}}"),
        ])
        let upstream = Self.upstream(access: access)
        let secret = "owui-secret"
        let face = Self.face(
            upstream,
            auth: AuthConfig(
                apiKeys: Self.keys,
                openWebUI: OpenWebUIUserSettings(userJwtSecret: secret, roleScopes: ["user": ["*"]])))
        #expect(
            await face.post(
                "/cook", [:], headers: Self.bearer("ops-key") + [("X-User-Id", "forged"), ("X-Other", "1")]
            )
            .json == "cook")
        let first = try #require(upstream.received.last)
        #expect(first.headers.map(\.name) == ["X-User-Id", "X-Key"])
        #expect(first.headers.map(\.value) == ["ops", "key=ops"])

        let user = HS256JWT.sign(
            [
                "iss": "open-webui", "sub": "user-7", "email": "u7@example.com", "role": "user",
                "exp": .double(Date().timeIntervalSince1970 + 300),
            ], key: SymmetricKey(data: Array(secret.utf8)))
        #expect(
            await face.post("/cook", [:], headers: Self.bearer("ops-key") + [("X-OpenWebUI-User-Jwt", user)]).json
                == "cook")
        let second = try #require(upstream.received.last)
        #expect(second.headers.map(\.name) == ["X-User-Id", "X-Key", "X-Email"])
        #expect(second.headers.map(\.value) == ["user-7", "key=ops", "u7@example.com"])
    }

    @Test("forwardToken: a key's caller is refused with 403 saying why; the key never goes upstream")
    func forwardTokenNeedsAToken() async {
        let upstream = Self.upstream(access: ServerAccess(forwardTokenAudience: "https://kitchen.example.com/mcp"))
        let face = Self.face(upstream)
        let refused = await face.post("/cook", [:], headers: Self.bearer("ops-key"))
        #expect(refused.status == 403)
        #expect(
            refused.json == [
                "detail":
                    "MCP server 'test' takes the caller's own token, and this call has none (an API key is never sent upstream)"
            ])
        #expect(upstream.received.isEmpty)
    }

    @Test("--api-key alone keeps mcpo's answers: a bare Bearer challenge, every scope")
    func legacyKeys() async {
        let face = Face(upstream: Self.upstream()) { $0.apiKeys = ["k"] }
        let missing = await face.post("/delete_combo", [:])
        #expect(missing.header("www-authenticate") == "Bearer")
        #expect(await face.post("/delete_combo", [:], headers: Self.bearer("k")).json == "delete_combo")
    }
}
