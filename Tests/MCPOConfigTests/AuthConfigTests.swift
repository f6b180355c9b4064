import Foundation
import JSONValue
import MCPOConfig
import Testing

/// The `auth` object and the per-server access keys: what each key means and, for every wrong value, an error
/// naming the file, the key path and what is expected, never the secret.
@Suite struct AuthConfigTests {
    static func parse(_ auth: String, servers: String = #""s": {"command": "x"}"#, env: [String: String] = [:])
        throws(ConfigError) -> ProxyConfig
    {
        try ConfigLoader.parse(
            text: "{\"auth\": \(auth), \"mcpServers\": {\(servers)}}", path: "gw.json", environment: env)
    }

    static func authError(_ auth: String, env: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try parse(auth, env: env)
            return nil
        } catch {
            return error
        }
    }

    @Test("every key of auth, with ${VAR} expanded and defaults where a key is left out")
    func fullObject() throws {
        let digest = String(repeating: "ab", count: 32)
        let config = try Self.parse(
            """
            {
              // comments as everywhere in the file
              "apiKeys": [
                {"name": "ci", "key": "${CI_KEY}", "scopes": ["kitchen:read", "time:*"]},
                {"name": "ops", "sha256": "\(digest)", "scopes": ["*"]},
                {"name": "none", "key": "k3"}
              ],
              "jwt": [{
                "issuer": "https://idp.example.com/realms/main", "audience": ["mcpo", "gw"],
                "jwksUri": "https://idp.example.com/realms/main/certs", "algorithms": ["RS256", "ES256"],
                "scopesClaim": "scp", "userClaim": "preferred_username", "tenantClaim": "tenant",
                "rolesClaim": "realm_access.roles", "roleScopes": {"admin": ["*"], "viewer": ["*:read"]},
                "leewaySeconds": 30
              }, {"issuer": "https://other.example.com", "audience": "mcpo"}],
              "openWebUI": {"userJwtSecret": "${OWUI}", "roleScopes": {"user": ["*:read"]}}
            }
            """, env: ["CI_KEY": "ci-secret", "OWUI": "owui-secret"])
        let auth = try #require(config.auth)
        #expect(
            auth.apiKeys == [
                NamedAPIKey(name: "ci", secret: .plain("ci-secret"), scopes: ["kitchen:read", "time:*"]),
                NamedAPIKey(name: "ops", secret: .sha256(Array(repeating: 0xab, count: 32)), scopes: ["*"]),
                NamedAPIKey(name: "none", secret: .plain("k3"), scopes: []),
            ])
        #expect(
            auth.jwtIssuers == [
                JWTIssuerSettings(
                    issuer: "https://idp.example.com/realms/main", audiences: ["mcpo", "gw"],
                    jwksURI: "https://idp.example.com/realms/main/certs", algorithms: ["RS256", "ES256"],
                    scopesClaim: "scp", userClaim: "preferred_username", tenantClaim: "tenant",
                    rolesClaim: "realm_access.roles", roleScopes: ["admin": ["*"], "viewer": ["*:read"]],
                    leewaySeconds: 30),
                JWTIssuerSettings(issuer: "https://other.example.com", audiences: ["mcpo"]),
            ])
        #expect(auth.jwtIssuers[1].userClaim == "sub")
        #expect(auth.jwtIssuers[1].leewaySeconds == 60)
        #expect(auth.openWebUI == OpenWebUIUserSettings(userJwtSecret: "owui-secret", roleScopes: ["user": ["*:read"]]))
        #expect(config.warnings.isEmpty)
    }

    @Test("YAML holds the same object")
    func yaml() throws {
        let folder = try ConfigDirectory()
        defer { folder.remove() }
        let file = try folder.write(
            "gw.yaml",
            """
            auth:
              apiKeys:
                - {name: ci, key: "k1", scopes: ["kitchen:*"]}
              jwt:
                - issuer: https://idp.example.com
                  audience: mcpo
            mcpServers:
              kitchen:
                command: x
                toolScopes:
                  "delete_*": ["kitchen:write"]
                  "*": ["kitchen:read"]
            """)
        let config = try ConfigLoader.load(path: file, environment: [:])
        #expect(config.auth?.apiKeys.map(\.name) == ["ci"])
        #expect(config.auth?.jwtIssuers.map(\.issuer) == ["https://idp.example.com"])
        #expect(
            config.servers.first?.access.toolScopes == [
                ToolScopeRule(toolGlob: "delete_*", scopes: ["kitchen:write"]),
                ToolScopeRule(toolGlob: "*", scopes: ["kitchen:read"]),
            ])
    }

    /// A wrong value, the key path at fault and what is expected.
    @Test(arguments: [
        (#"[]"#, "auth", "expected an object, got list"),
        (#"{"apiKeys": {"name": "x"}}"#, "auth.apiKeys", "expected a list of keys, got object"),
        (#"{"apiKeys": ["k"]}"#, "auth.apiKeys[0]", "expected an object with 'name', 'key' or 'sha256', and 'scopes'"),
        (#"{"apiKeys": [{"key": "k"}]}"#, "auth.apiKeys[0].name", "missing"),
        (#"{"apiKeys": [{"name": "a"}]}"#, "auth.apiKeys[0]", "needs 'key' or 'sha256'"),
        (
            #"{"apiKeys": [{"name": "a", "key": "k", "sha256": "00"}]}"#, "auth.apiKeys[0]",
            "has both 'key' and 'sha256'; give one"
        ),
        (#"{"apiKeys": [{"name": "a", "key": 5}]}"#, "auth.apiKeys[0].key", "expected the key as a non-empty string"),
        (
            #"{"apiKeys": [{"name": "a", "sha256": "abc"}]}"#, "auth.apiKeys[0].sha256",
            "expected 64 hex digits: the SHA-256 of the key"
        ),
        (
            #"{"apiKeys": [{"name": "a", "key": "k1"}, {"name": "a", "key": "k2"}]}"#, "auth.apiKeys[1].name",
            "the name 'a' is used twice"
        ),
        (
            #"{"apiKeys": [{"name": "a", "key": "k", "scopes": "read"}]}"#, "auth.apiKeys[0].scopes",
            #"expected a list of scopes such as ["kitchen:read", "time:*"], got string"#
        ),
        (
            #"{"apiKeys": [{"name": "a", "key": "k", "scopes": ["read all"]}]}"#, "auth.apiKeys[0].scopes[0]",
            "expected a scope: a non-empty string without spaces, quotes or backslashes"
        ),
        (#"{"jwt": 5}"#, "auth.jwt", "expected a list of issuers, got number 5"),
        (#"{"jwt": [{"audience": "a"}]}"#, "auth.jwt[0].issuer", "missing"),
        (
            #"{"jwt": [{"issuer": "idp.example.com", "audience": "a"}]}"#, "auth.jwt[0].issuer",
            "expected the issuer's http(s) URL, as its tokens' `iss` names it"
        ),
        (
            #"{"jwt": [{"issuer": "https://i"}]}"#, "auth.jwt[0].audience",
            "missing; the proxy's identifier that tokens must name in `aud`"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": []}]}"#, "auth.jwt[0].audience",
            "expected a string or a non-empty list of strings, got list"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": ["a", ""]}]}"#, "auth.jwt[0].audience[1]",
            "expected a non-empty string"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a"}, {"issuer": "https://i", "audience": "b"}]}"#,
            "auth.jwt[1].issuer", "the issuer https://i is configured twice"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "jwksUri": "file:///keys"}]}"#,
            "auth.jwt[0].jwksUri", "expected an http(s) URL"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "algorithms": ["HS256"]}]}"#,
            "auth.jwt[0].algorithms[0]",
            "'HS256' is never accepted from a JWKS issuer (no key proves such a token); expected some of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "algorithms": ["none"]}]}"#,
            "auth.jwt[0].algorithms[0]",
            "'none' is never accepted from a JWKS issuer (no key proves such a token); expected some of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "algorithms": ["RS257"]}]}"#,
            "auth.jwt[0].algorithms[0]",
            "unknown algorithm 'RS257'; expected some of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "algorithms": []}]}"#, "auth.jwt[0].algorithms",
            #"expected a non-empty list such as ["RS256", "ES256"]"#
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "roleScopes": {"admin": ["*"]}}]}"#,
            "auth.jwt[0].rolesClaim", "missing; 'roleScopes' needs the claim that holds the roles"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "rolesClaim": "r", "roleScopes": ["admin"]}]}"#,
            "auth.jwt[0].roleScopes", "expected an object mapping each role to its scopes, got list"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "leewaySeconds": 3600}]}"#,
            "auth.jwt[0].leewaySeconds", "expected a number of seconds from 0 to 600, got number 3600"
        ),
        (
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "userClaim": ""}]}"#, "auth.jwt[0].userClaim",
            "expected a non-empty string, got string"
        ),
        (
            #"{"openWebUI": {"roleScopes": {}}}"#, "auth.openWebUI.userJwtSecret",
            "expected the secret Open WebUI signs X-OpenWebUI-User-Jwt with, as a non-empty string"
        ),
        (#"{"openWebUI": true}"#, "auth.openWebUI", "expected an object, got boolean true"),
    ])
    func badValue(auth: String, key: String, message: String) throws {
        let error = try #require(Self.authError(auth))
        #expect(error == ConfigError(file: "gw.json", key: key, message: message))
        #expect(error.description == "Invalid configuration in gw.json: key '\(key)': \(message)")
    }

    @Test("no error quotes a secret, even one given in the wrong place")
    func secretsNeverEchoed() throws {
        for auth in [
            #"{"apiKeys": [{"name": "a", "key": "s3cret-value", "sha256": "s3cret-value"}]}"#,
            #"{"apiKeys": [{"name": "a", "sha256": "s3cret-value"}]}"#,
            #"{"apiKeys": [{"name": "a", "key": "s3cret-value", "scopes": "s3cret-value"}]}"#,
            #"{"openWebUI": {"userJwtSecret": ["s3cret-value"]}}"#,
            #"{"jwt": [{"issuer": "https://i", "audience": "a", "leewaySeconds": "s3cret-value"}]}"#,
        ] {
            let error = try #require(Self.authError(auth), "\(auth)")
            #expect(!error.description.contains("s3cret-value"), "\(error)")
        }
        let unset = try #require(Self.authError(#"{"apiKeys": [{"name": "a", "key": "${MISSING_KEY}"}]}"#))
        #expect(unset.key == "auth.apiKeys[0].key")
        #expect(unset.description.contains("MISSING_KEY"))
    }

    @Test("unknown keys are warned about with their path, and ignored")
    func unknownKeys() throws {
        let config = try Self.parse(#"{"apiKey": [], "apiKeys": [{"name": "a", "key": "k", "scope": ["x"]}]}"#)
        #expect(
            config.warnings == [
                "gw.json: unknown key 'auth.apiKey' is ignored",
                "gw.json: unknown key 'auth.apiKeys[0].scope' is ignored",
            ])
    }

    @Test("a server's toolScopes, forwardHeaders, forwardToken and tenantHeader")
    func serverAccess() throws {
        let config = try parseEntries(
            #"""
            "kitchen": {"type": "streamable-http", "url": "https://k.example.com/mcp",
              "toolScopes": {"delete_*": ["kitchen:write"], "*": ["kitchen:read"]},
              "forwardHeaders": {"X-User-Id": "{{user}}", "X-Who": "{{ keyName }}@{{claims.email}}", "X-Iss": "{{issuer}}"},
              "forwardToken": {"audience": "https://k.example.com/mcp"}},
            "tenants": {"type": "streamable-http", "url": "https://octo.example.com/{tenant}/mcp",
              "tenantHeader": "X-Tenant-Id", "forwardHeaders": {"X-Tenant": "{{tenant}}"}}
            """#)
        let kitchen = config.servers[0].access
        #expect(kitchen.toolScopes.map(\.toolGlob) == ["delete_*", "*"])
        #expect(kitchen.forwardHeaders.map(\.name) == ["X-User-Id", "X-Who", "X-Iss"])
        #expect(kitchen.forwardTokenAudience == "https://k.example.com/mcp")
        #expect(!config.servers[0].isPerTenant)
        let tenants = config.servers[1]
        #expect(tenants.isPerTenant)
        #expect(tenants.access.tenantHeader == "X-Tenant-Id")
    }

    @Test(arguments: [
        (
            #"{"command": "x", "toolScopes": ["a"]}"#, "toolScopes",
            #"expected an object mapping tool-name globs to the scopes a call needs, e.g. {"delete_*": ["kitchen:write"]}"#
        ),
        (#"{"command": "x", "toolScopes": {"": ["a"]}}"#, "toolScopes.", "a tool glob must not be empty"),
        (
            #"{"command": "x", "toolScopes": {"a": "b"}}"#, "toolScopes.a",
            #"expected a list of scopes such as ["kitchen:read", "time:*"], got string"#
        ),
        (
            #"{"command": "x", "forwardHeaders": {"X-U": "{{user}}"}}"#, "forwardHeaders",
            "only for remote servers: a stdio server gets no headers"
        ),
        (
            #"{"url": "http://h/", "forwardHeaders": {"X-U": "{{who}}"}}"#, "forwardHeaders.X-U",
            "unknown placeholder '{{who}}'; use {{user}}, {{tenant}}, {{keyName}}, {{issuer}} or {{claims.<name>}}"
        ),
        (
            #"{"url": "http://h/", "forwardHeaders": {"X-U": "{{user"}}"#, "forwardHeaders.X-U",
            "a '{{' is not closed by '}}'"
        ),
        (
            #"{"url": "http://h/", "forwardHeaders": {"Bad Name": "{{user}}"}}"#, "forwardHeaders.Bad Name",
            "invalid header name; use letters, digits and !#$%&'*+-.^_`|~"
        ),
        (
            #"{"url": "http://h/", "forwardHeaders": {"Authorization": "{{user}}"}}"#, "forwardHeaders.Authorization",
            "the proxy sets this header itself; forward the token with 'forwardToken'"
        ),
        (
            #"{"url": "http://h/", "forwardToken": {}}"#, "forwardToken.audience",
            #"expected {"audience": "<the upstream's identifier>"}: the caller's token goes upstream only when its `aud` names it"#
        ),
        (
            #"{"type": "streamable-http", "url": "http://h/", "forwardToken": {"audience": "a"}, "oauth": {}}"#,
            "forwardToken",
            "cannot be combined with 'oauth': the request carries one Authorization"
        ),
        (
            #"{"type": "streamable-http", "url": "http://h/{tenant}/mcp", "oauth": {}}"#, "url",
            "a {tenant} URL cannot be combined with 'oauth'"
        ),
        (
            #"{"url": "http://h/mcp", "tenantHeader": "X-T"}"#, "tenantHeader",
            "only for a server whose url holds {tenant}"
        ),
        (
            #"{"url": "http://h/{tenant}/mcp", "tenantHeader": "X T"}"#, "tenantHeader",
            #"expected a header name such as "X-Tenant-Id""#
        ),
    ])
    func badAccess(entry: String, key: String, message: String) throws {
        let error = try #require(entryError(#""srv": \#(entry)"#))
        #expect(error == ConfigError(file: "mcp.json", server: "srv", key: key, message: message))
    }

    @Test("--auth-config: the auth object (whole file or its auth member) and the server's access keys at the top")
    func authConfigFile() throws {
        let folder = try ConfigDirectory()
        defer { folder.remove() }
        let whole = try folder.write(
            "auth.json",
            #"""
            {"apiKeys": [{"name": "ci", "key": "${K}", "scopes": ["*"]}],
             "toolScopes": {"*": ["x:read"]}, "forwardHeaders": {"X-User": "{{user}}"}}
            """#)
        let loaded = try ConfigLoader.loadAuth(path: whole, environment: ["K": "key-1"])
        #expect(loaded.auth.apiKeys == [NamedAPIKey(name: "ci", secret: .plain("key-1"), scopes: ["*"])])
        #expect(loaded.access.toolScopes == [ToolScopeRule(toolGlob: "*", scopes: ["x:read"])])
        #expect(loaded.access.forwardHeaders.map(\.template) == ["{{user}}"])
        #expect(loaded.warnings.isEmpty)

        let nested = try folder.write("auth.yaml", "auth:\n  jwt:\n    - {issuer: 'https://i', audience: mcpo}\n")
        #expect(try ConfigLoader.loadAuth(path: nested).auth.jwtIssuers.map(\.issuer) == ["https://i"])

        let bad = try folder.write("bad.json", #"{"jwt": [{"issuer": "https://i"}]}"#)
        do {
            _ = try ConfigLoader.loadAuth(path: bad)
            Issue.record("a bad --auth-config file loaded")
        } catch {
            #expect(
                error.description
                    == "Invalid configuration in \(bad): key 'auth.jwt[0].audience': missing; the proxy's identifier that tokens must name in `aud`"
            )
        }
    }
}
