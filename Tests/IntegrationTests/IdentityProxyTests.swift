import Crypto
import Foundation
import JSONValue
import TestSupport
import Testing

/// Caller identities through the real binary: tokens from the identity provider fixture, named keys, Open WebUI's
/// user header, scopes per tool, what real upstream servers receive, tenants, and `auth` on reload.
@Suite("identities end to end")
struct IdentityProxyTests {
    static let upstreamAudience = "https://remote.example.com/mcp"
    static let opsKey = "ops-key-0123"
    static let owuiSecret = "owui-forward-secret"

    static func hexSHA256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Open WebUI's user header, HS256 as Open WebUI signs it.
    static func openWebUIUser(sub: String, role: String, email: String) -> String {
        func encode(_ json: JSON) -> String {
            Data(json.bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let input =
            encode(["alg": "HS256", "typ": "JWT"]) + "."
            + encode([
                "iss": "open-webui", "sub": .string(sub), "email": .string(email), "name": "U", "role": .string(role),
                "exp": .double(Date().timeIntervalSince1970 + 300),
            ])
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(input.utf8), using: SymmetricKey(data: Array(owuiSecret.utf8)))
        return input + "."
            + Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func authObject(_ idp: IdentityProviderFixture) -> String {
        """
        {
          "apiKeys": [
            {"name": "ci", "key": "${CI_KEY}", "scopes": ["kitchen:read"]},
            {"name": "ops", "sha256": "\(hexSHA256(opsKey))", "scopes": ["*"]}
          ],
          "jwt": [{"issuer": "\(idp.issuer)", "audience": "mcpo", "tenantClaim": "tenant",
                   "rolesClaim": "roles", "roleScopes": {"chef": ["kitchen:*"]}}],
          "openWebUI": {"userJwtSecret": "\(owuiSecret)", "roleScopes": {"user": ["*:read"], "admin": ["*"]}}
        }
        """
    }

    static func config(_ idp: IdentityProviderFixture, _ peer: RemotePeer) -> String {
        """
        {
          "auth": \(authObject(idp)),
          "mcpServers": {
            "kitchen": {"command": "\(TestPaths.exampleServer)",
                        "toolScopes": {"calculate": ["kitchen:write"], "*": ["kitchen:read"]}},
            "remote": {"type": "streamable-http", "url": "\(peer.url("/mcp-json"))",
                       "forwardHeaders": {"X-User-Id": "{{user}}", "X-Tenant": "{{tenant}}", "X-Email": "{{claims.email}}",
                                          "X-Key": "{{keyName}}"},
                       "forwardToken": {"audience": "\(upstreamAudience)"}},
            "tenants": {"type": "streamable-http", "url": "\(peer.url("/t/{tenant}/mcp-json"))",
                        "tenantHeader": "X-Tenant-Id", "forwardHeaders": {"X-Tenant": "{{tenant}}"}}
          }
        }
        """
    }

    static func bearer(_ credential: String) -> [(String, String)] { [("Authorization", "Bearer " + credential)] }

    /// The headers the `headers` tool of http_behaviors.py saw, as it answers them.
    static func seenHeaders(_ reply: HTTPReply) -> JSON? {
        reply.json?.stringValue.flatMap { try? JSON.parse($0) } ?? reply.json
    }

    static func withGateway<T>(
        _ body: (ProxyProcess, IdentityProviderFixture, RemotePeer) async throws -> T
    ) async throws -> T {
        let idp = try await IdentityProviderFixture.start()
        do {
            let result = try await withRemotePeer(try RemotePeer.behaviors()) { peer in
                let folder = try ConfigModeTests.ConfigFolder()
                try folder.write(config(idp, peer))
                return try await withProxy(["--config", folder.file], environment: ["CI_KEY": "ci-key-4567"]) { proxy in
                    #expect(
                        try await pollUntil(within: .seconds(120)) {
                            let ready = try await TestHTTP.get(proxy, "/readyz")
                            return ready.json?["servers"]?["kitchen"]?["state"] == "connected"
                                && ready.json?["servers"]?["remote"]?["state"] == "connected"
                                && ready.json?["identityProviders"]?[idp.issuer]?["state"] == "up"
                        })
                    return try await body(proxy, idp, peer)
                }
            }
            await idp.stop()
            return result
        } catch {
            await idp.stop()
            throw error
        }
    }

    @Test("JWT, named and sha256 keys: scopes per tool, RFC 6750 answers, documents per caller, RFC 9728")
    func callersAndScopes() async throws {
        try await Self.withGateway { proxy, idp, _ in
            let chef = try await idp.token(alg: "ES256", claims: ["roles": ["chef"]])
            let reader = try await idp.token(alg: "RS256", claims: ["scope": "kitchen:read"])
            let calculation: JSON = ["operation": "add", "a": 2, "b": 3]
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/calculate", calculation, headers: Self.bearer(chef)).status
                    == 200)
            let refused = try await TestHTTP.post(
                proxy, "/kitchen/calculate", calculation, headers: Self.bearer(reader))
            #expect(refused.status == 403)
            #expect(refused.header("www-authenticate") == #"Bearer error="insufficient_scope", scope="kitchen:write""#)
            #expect(refused.json?["required_scopes"] == ["kitchen:write"])
            // The same tokens over the MCP endpoint: the chef's role covers calculate, the reader's scope does not.
            var chefClient = MCPWireClient(proxy, "/mcp", headers: Self.bearer(chef))
            #expect(try await chefClient.initialize().status == 200)
            let calculated = try await chefClient.call("kitchen_calculate", calculation)
            #expect(calculated?["content"]?[0]?["text"] == #"{"result":5}"#, "\(String(describing: calculated))")
            var readerClient = MCPWireClient(proxy, "/mcp", headers: Self.bearer(reader))
            _ = try await readerClient.initialize()
            let readerTools = try await readerClient.request("tools/list").json?["result"]?["tools"]?.arrayValue ?? []
            #expect(readerTools.contains { $0["name"] == "kitchen_echo" })
            #expect(!readerTools.contains { $0["name"] == "kitchen_calculate" })
            let forged = try await MCPWireClient(proxy, "/mcp", headers: Self.bearer(chef + "x")).request("initialize")
            #expect(forged.status == 401)
            #expect(forged.header("www-authenticate")?.contains("invalid_token") == true)
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "r"], headers: Self.bearer(reader)).json == "r"
            )
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "k"], headers: Self.bearer("ci-key-4567")).json
                    == "k")
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/calculate", calculation, headers: Self.bearer(Self.opsKey))
                    .status == 200, "a sha256 key with every scope")

            let expired = try await idp.token(
                alg: "ES256", claims: ["exp": .double(Date().timeIntervalSince1970 - 600)])
            let late = try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "x"], headers: Self.bearer(expired))
            #expect(late.status == 401)
            #expect(late.json == ["detail": "the token has expired"])
            let challenge = try #require(late.header("www-authenticate"))
            #expect(challenge.hasPrefix(#"Bearer error="invalid_token", error_description="the token has expired""#))
            #expect(challenge.contains("resource_metadata=\"\(proxy.baseURL)/.well-known/oauth-protected-resource\""))
            #expect(!late.text.contains(expired))
            let wrongAudience = try await idp.token(alg: "ES256", claims: ["aud": "someone-else"])
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "x"], headers: Self.bearer(wrongAudience))
                    .json?["detail"] == "the token's audience is not accepted (expected mcpo)")
            let none = try await idp.token(alg: "none")
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "x"], headers: Self.bearer(none)).status == 401
            )
            let unknownKey = try await TestHTTP.post(
                proxy, "/kitchen/echo", ["text": "x"], headers: Self.bearer("nope"))
            #expect(unknownKey.status == 403)
            #expect(unknownKey.json == ["detail": "Invalid API key"])
            let missing = try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "x"])
            #expect(missing.status == 401)
            #expect(missing.header("www-authenticate")?.hasPrefix(#"Bearer realm="mcpo""#) == true)

            let readerDocument = try await TestHTTP.get(proxy, "/kitchen/openapi.json", headers: Self.bearer(reader))
            #expect(readerDocument.json?["paths"]?["/calculate"] == nil)
            #expect(readerDocument.json?["paths"]?["/echo"] != nil)
            let chefRoot = try await TestHTTP.get(proxy, "/openapi.json", headers: Self.bearer(chef))
            #expect(chefRoot.json?["paths"]?["/kitchen/calculate"] != nil)
            let publicDocument = try await TestHTTP.get(proxy, "/kitchen/openapi.json")
            #expect(publicDocument.json?["paths"]?["/calculate"] != nil, "without a credential: as today")

            let metadata = try await TestHTTP.get(proxy, "/.well-known/oauth-protected-resource")
            #expect(metadata.status == 200)
            #expect(metadata.json?["authorization_servers"] == [.string(idp.issuer)])
            #expect(metadata.json?["scopes_supported"] == ["kitchen:write", "kitchen:read"])
        }
    }

    @Test("forwardHeaders and forwardToken as the upstream server receives them; the caller's own headers stay behind")
    func forwarding() async throws {
        try await Self.withGateway { proxy, idp, _ in
            let forUpstream = try await idp.token(
                alg: "ES256",
                claims: [
                    "aud": ["mcpo", .string(Self.upstreamAudience)], "email": "alice@example.com", "tenant": "acme",
                ])
            let reply = try await TestHTTP.post(
                proxy, "/remote/headers", [:], headers: Self.bearer(forUpstream) + [("X-User-Id", "forged")])
            #expect(reply.status == 200, "\(reply.text)")
            let seen = try #require(Self.seenHeaders(reply))
            #expect(seen["x-user-id"] == "alice")
            #expect(seen["x-tenant"] == "acme")
            #expect(seen["x-email"] == "alice@example.com")
            #expect(seen["x-key"] == nil, "a token's caller has no key name")
            #expect(seen["authorization"] == .string("Bearer " + forUpstream))

            let onlyForProxy = try await idp.token(alg: "ES256")
            let refused = try await TestHTTP.post(proxy, "/remote/headers", [:], headers: Self.bearer(onlyForProxy))
            #expect(refused.status == 403)
            #expect(
                refused.json?["detail"]
                    == .string(
                        "MCP server 'remote' takes only tokens for \(Self.upstreamAudience); the caller's token is for mcpo"
                    ))
            let withKey = try await TestHTTP.post(proxy, "/remote/headers", [:], headers: Self.bearer(Self.opsKey))
            #expect(withKey.status == 403, "an API key never goes upstream")
        }
    }

    @Test("Open WebUI's user header names the user behind its key, and narrows the key's scopes by the user's role")
    func openWebUIUser() async throws {
        try await Self.withGateway { proxy, _, _ in
            let user = Self.openWebUIUser(sub: "user-7", role: "user", email: "u7@example.com")
            let echo = try await TestHTTP.post(
                proxy, "/kitchen/echo", ["text": "hi"],
                headers: Self.bearer(Self.opsKey) + [("X-OpenWebUI-User-Jwt", user)])
            #expect(echo.json == "hi")
            let narrowed = try await TestHTTP.post(
                proxy, "/kitchen/calculate", ["operation": "add", "a": 1, "b": 1],
                headers: Self.bearer(Self.opsKey) + [("X-OpenWebUI-User-Jwt", user)])
            #expect(narrowed.status == 403, "the user role reads only, within the ops key's every scope")
            let admin = Self.openWebUIUser(sub: "admin-1", role: "admin", email: "a@example.com")
            #expect(
                try await TestHTTP.post(
                    proxy, "/kitchen/calculate", ["operation": "add", "a": 1, "b": 1],
                    headers: Self.bearer(Self.opsKey) + [("X-OpenWebUI-User-Jwt", admin)]
                ).status == 200)
            let alone = try await TestHTTP.post(
                proxy, "/kitchen/echo", ["text": "x"], headers: [("X-OpenWebUI-User-Jwt", user)])
            #expect(alone.status == 401, "the header alone is no credential")
        }
    }

    @Test("tenants: one upstream session per tenant, two tenants at once; no tenant or a bad one is 400")
    func tenants() async throws {
        try await Self.withGateway { proxy, idp, peer in
            let acme = try await idp.token(alg: "ES256", claims: ["tenant": "acme"])
            async let first = TestHTTP.post(proxy, "/tenants/headers", [:], headers: Self.bearer(acme))
            async let second = TestHTTP.post(
                proxy, "/tenants/headers", [:], headers: Self.bearer(Self.opsKey) + [("X-Tenant-Id", "globex")])
            let (acmeReply, globexReply) = try await (first, second)
            #expect(acmeReply.status == 200, "\(acmeReply.text)")
            #expect(globexReply.status == 200, "\(globexReply.text)")
            #expect(Self.seenHeaders(acmeReply)?["x-tenant"] == "acme")
            #expect(Self.seenHeaders(globexReply)?["x-tenant"] == "globex")
            let spoofed = try await TestHTTP.post(
                proxy, "/tenants/headers", [:], headers: Self.bearer(acme) + [("X-Tenant-Id", "globex")])
            #expect(Self.seenHeaders(spoofed)?["x-tenant"] == "acme", "the token's tenant claim wins over the header")

            let log = try await TestHTTP.request(.GET, peer.url("/_log"))
            let paths = Set((log.json?.arrayValue ?? []).compactMap { $0["path"]?.stringValue })
            #expect(paths.contains("/t/acme/mcp-json"))
            #expect(paths.contains("/t/globex/mcp-json"))

            let noTenant = try await TestHTTP.post(proxy, "/tenants/headers", [:], headers: Self.bearer(Self.opsKey))
            #expect(noTenant.status == 400)
            #expect(noTenant.json?["detail"]?.stringValue?.contains("tenant") == true)
            for bad in ["..", "a/b", String(repeating: "x", count: 65), "acme corp"] {
                let reply = try await TestHTTP.post(
                    proxy, "/tenants/headers", [:], headers: Self.bearer(Self.opsKey) + [("X-Tenant-Id", bad)])
                #expect(reply.status == 400, "\(bad)")
            }
            let ready = try await TestHTTP.get(proxy, "/readyz")
            #expect(ready.json?["servers"]?["tenants"]?["tenantSessions"] == 2)
        }
    }

    @Test("an identity provider down at start: the proxy serves, /readyz says so, tokens work once it is back")
    func providerDownAtStart() async throws {
        let idp = try await IdentityProviderFixture.start()
        defer { Task { await idp.stop() } }
        try await idp.down()
        let folder = try ConfigModeTests.ConfigFolder()
        try folder.write(
            """
            {"auth": {"jwt": [{"issuer": "\(idp.issuer)", "audience": "mcpo"}]},
             "mcpServers": {"kitchen": {"command": "\(TestPaths.exampleServer)"}}}
            """)
        try await withProxy(["--config", folder.file]) { proxy in
            #expect(
                try await pollUntil {
                    let ready = try await TestHTTP.get(proxy, "/readyz")
                    return ready.json?["identityProviders"]?[idp.issuer]?["error"]?.stringValue?.contains("503") == true
                })
            let ready = try await TestHTTP.get(proxy, "/readyz")
            #expect(ready.json?["identityProviders"]?[idp.issuer]?["state"] == "down")
            let token = try await idp.token(alg: "ES256")
            let refused = try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "x"], headers: Self.bearer(token))
            #expect(refused.status == 401)
            #expect(
                refused.json?["detail"]?.stringValue?.hasPrefix("the identity provider's keys cannot be had") == true)

            try await idp.up()
            // Retried in the background every 10 s: /readyz sees the provider come back before any token does.
            #expect(
                try await pollUntil {
                    try await TestHTTP.get(proxy, "/readyz").json?["identityProviders"]?[idp.issuer]?["state"] == "up"
                })
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "ok"], headers: Self.bearer(token)).json
                    == "ok")
        }
        await idp.stop()
    }

    @Test("auth on reload: a wrong value keeps the auth in force; a right one replaces it")
    func reload() async throws {
        let folder = try ConfigModeTests.ConfigFolder()
        let server = #""kitchen": {"command": "\#(TestPaths.exampleServer)"}"#
        try folder.write(#"{"auth": {"apiKeys": [{"name": "a", "key": "key-one"}]}, "mcpServers": {\#(server)}}"#)
        try await withProxy(["--config", folder.file, "--hot-reload"]) { proxy in
            #expect(
                try await pollUntil {
                    try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "one"], headers: Self.bearer("key-one"))
                        .json
                        == "one"
                })
            try folder.write(
                #"{"auth": {"apiKeys": [{"name": "a", "key": "key-two", "sha256": "x"}]}, "mcpServers": {\#(server)}}"#)
            #expect(await proxy.waitForLog("key 'auth.apiKeys[0]': has both 'key' and 'sha256'; give one"))
            #expect(!proxy.logText.contains("key-two"), "a secret is never logged")
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "two"], headers: Self.bearer("key-one")).json
                    == "two")

            try folder.write(#"{"auth": {"apiKeys": [{"name": "a", "key": "key-three"}]}, "mcpServers": {\#(server)}}"#)
            #expect(
                try await pollUntil {
                    try await TestHTTP.post(
                        proxy, "/kitchen/echo", ["text": "three"], headers: Self.bearer("key-three")
                    )
                    .json == "three"
                })
            #expect(
                try await TestHTTP.post(proxy, "/kitchen/echo", ["text": "four"], headers: Self.bearer("key-one"))
                    .status
                    == 403)
        }
    }

    @Test("single-server mode: --auth-config holds the auth object and the server's toolScopes")
    func singleServerAuthConfig() async throws {
        let folder = try ConfigModeTests.ConfigFolder()
        let file = folder.url.appendingPathComponent("auth.yaml").path
        try folder.write(
            """
            apiKeys:
              - {name: reader, key: "${READER_KEY}", scopes: ["example:read"]}
            toolScopes:
              calculate: ["example:write"]
              "*": ["example:read"]
            """, to: file)
        try await withProxy(
            ["--auth-config", file, "--", TestPaths.exampleServer], environment: ["READER_KEY": "reader-key-1"]
        ) { proxy in
            #expect(
                try await TestHTTP.post(proxy, "/echo", ["text": "r"], headers: Self.bearer("reader-key-1")).json == "r"
            )
            let refused = try await TestHTTP.post(
                proxy, "/calculate", ["operation": "add", "a": 1, "b": 1], headers: Self.bearer("reader-key-1"))
            #expect(refused.status == 403)
            #expect(refused.json?["required_scopes"] == ["example:write"])
            #expect(try await TestHTTP.post(proxy, "/echo", ["text": "r"]).status == 401)
        }
        let bad = folder.url.appendingPathComponent("bad.json").path
        try folder.write(#"{"jwt": [{"issuer": "https://i"}]}"#, to: bad)
        let outcome = try await ProcessRunner.run(
            TestPaths.mcpo, ["--port", "0", "--auth-config", bad, "--", TestPaths.exampleServer])
        #expect(outcome.status == 1)
        #expect(outcome.output.contains("Invalid configuration in \(bad): key 'auth.jwt[0].audience': missing"))
    }
}
