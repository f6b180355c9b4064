import Foundation
import JSONValue
import MCPOConfig
import Testing

@testable import MCPOAuth

@Suite("OAuth settings")
struct SettingsTests {
    @Test func defaultsAsMcpo() throws {
        let settings = try OAuthSettings.parse(["server_url": "http://127.0.0.1:18200"], server: "secure")
        #expect(settings.serverURL == "http://127.0.0.1:18200")
        #expect(settings.multiUser == false)
        #expect(settings.storageType == .file)
        #expect(settings.callbackPort == 3030)
        #expect(settings.useLoopback == true)
        #expect(settings.sessionTimeoutMinutes == 30)
        #expect(settings.grant == .authorizationCode)
        #expect(settings.loopbackRedirectURI == "http://localhost:3030/callback")
        #expect(settings.unknownKeys == [])
    }

    @Test func everyKey() throws {
        let settings = try OAuthSettings.parse(
            [
                "server_url": "https://mcp.example.com/mcp", "multi_user": true, "storage_type": "memory",
                "callback_port": 18230, "use_loopback": false, "session_timeout_minutes": 5,
                "webui_secret_key": "k", "session_secret": "s", "client_metadata": ["client_name": "X"],
                "client_id": "id", "client_secret": "sec", "client_metadata_url": "https://app.example/client.json",
                "scope": "a b", "grant": "device-code", "redirect_uri": "https://proxy.example/oauth/x/callback",
                "extra": 1,
            ], server: "x")
        #expect(settings.multiUser && settings.storageType == .memory && settings.callbackPort == 18230)
        #expect(!settings.useLoopback && settings.sessionTimeoutMinutes == 5)
        #expect(settings.webuiSecretKey == "k" && settings.sessionSecret == "s")
        #expect(settings.clientID == "id" && settings.clientSecret == "sec")
        #expect(settings.clientMetadataURL == "https://app.example/client.json")
        #expect(settings.scope == "a b" && settings.grant == .deviceCode)
        #expect(settings.redirectURI == "https://proxy.example/oauth/x/callback")
        #expect(settings.unknownKeys == ["extra"])
    }

    @Test(
        arguments: [
            (
                ["storage_type": "memory"] as JSON,
                "server 's': oauth.server_url is required (the URL of the protected MCP server)"
            ),
            (
                ["server_url": "ftp://x"],
                "server 's': oauth.server_url must be an absolute http(s) URL without a fragment, got 'ftp://x'"
            ),
            (
                ["server_url": "http://x", "storage_type": "disk"],
                "server 's': oauth.storage_type must be \"file\" or \"memory\", got \"disk\""
            ),
            (
                ["server_url": "http://x", "callback_port": 70000],
                "server 's': oauth.callback_port must be an integer between 1 and 65535"
            ),
            (
                ["server_url": "http://x", "callback_port": "3030"],
                "server 's': oauth.callback_port must be an integer between 1 and 65535"
            ),
            (
                ["server_url": "http://x", "use_loopback": "yes"],
                "server 's': oauth.use_loopback must be true or false"
            ),
            (
                ["server_url": "http://x", "session_timeout_minutes": 0],
                "server 's': oauth.session_timeout_minutes must be a positive number of minutes"
            ),
            (["server_url": "http://x", "client_metadata": []], "server 's': oauth.client_metadata must be an object"),
            (
                ["server_url": "http://x", "grant": "password"],
                "server 's': oauth.grant must be authorization_code, device_code or client_credentials, got \"password\""
            ),
            (["server_url": "http://x", "client_secret": "x"], "server 's': oauth.client_secret needs client_id"),
            (
                ["server_url": "http://x", "client_metadata_url": "http://a/b"],
                "server 's': oauth.client_metadata_url must be an https URL with a path (the client ID metadata document)"
            ),
            (
                ["server_url": "http://x", "multi_user": true, "grant": "client_credentials"],
                "server 's': oauth.multi_user cannot be combined with grant client_credentials (there is no user)"
            ),
            (["server_url": 5], "server 's': oauth.server_url must be a string"),
        ] as [(JSON, String)])
    func errorsNameTheKey(json: JSON, message: String) {
        do {
            _ = try OAuthSettings.parse(json, server: "s")
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func fromServerEntry() throws {
        let entry = ServerEntry(
            name: "secure", transport: .streamableHTTP(RemoteEndpoint(url: "http://127.0.0.1:1/mcp")),
            oauth: ["server_url": "http://127.0.0.1:1"])
        #expect(try OAuthSettings.from(entry: entry)?.serverURL == "http://127.0.0.1:1")
        let plain = ServerEntry(
            name: "plain", transport: .streamableHTTP(RemoteEndpoint(url: "http://127.0.0.1:1/mcp")))
        #expect(try OAuthSettings.from(entry: plain) == nil)
    }

    @Test func registrationMetadataMergesClientMetadataOverMcposDefaults() throws {
        let settings = try OAuthSettings.parse(
            [
                "server_url": "http://x",
                "client_metadata": [
                    "client_name": "Mine", "logo_uri": "https://l/x.png",
                    "redirect_uris": ["http://localhost:9/extra"],
                ],
            ], server: "secure")
        let body = settings.registrationMetadata(
            server: "secure", redirectURIs: ["http://localhost:3030/callback"],
            grantTypes: ["authorization_code", "refresh_token"], authMethod: .clientSecretPost, scope: "user")
        #expect(
            JSON.object(body).text
                == #"{"redirect_uris":["http://localhost:3030/callback","http://localhost:9/extra"],"#
                + #""token_endpoint_auth_method":"client_secret_post","grant_types":["authorization_code","refresh_token"],"#
                + #""response_types":["code"],"scope":"user","client_name":"Mine","logo_uri":"https://l/x.png","#
                + #""application_type":"native"}"#)
    }
}

@Suite("WWW-Authenticate")
struct ChallengeTests {
    @Test func bearerWithParameters() {
        let header =
            #"Bearer error="invalid_token", error_description="Authentication required", resource_metadata="http://127.0.0.1:18200/.well-known/oauth-protected-resource""#
        let challenge = AuthChallenge.bearer(in: [header])
        #expect(challenge?.error == "invalid_token")
        #expect(challenge?.errorDescription == "Authentication required")
        #expect(challenge?.resourceMetadata == "http://127.0.0.1:18200/.well-known/oauth-protected-resource")
        #expect(challenge?.scope == nil)
    }

    @Test func severalChallengesQuotingAndCase() {
        let challenges = AuthChallenge.parse(
            #"Basic realm="a, b", DPoP algs="ES256", BEARER Scope="files:read files:write", error=insufficient_scope, "#
                + #"error_description="say \"please\"""#)
        #expect(challenges.map(\.scheme) == ["Basic", "DPoP", "BEARER"])
        #expect(challenges[0].parameters == ["realm": "a, b"])
        #expect(challenges[2].scope == "files:read files:write")
        #expect(challenges[2].error == "insufficient_scope")
        #expect(challenges[2].errorDescription == #"say "please""#)
        #expect(AuthChallenge.bearer(in: ["Basic realm=x", "Bearer scope=mcp"])?.scope == "mcp")
    }

    @Test func token68AndBareSchemes() {
        #expect(AuthChallenge.parse("Negotiate abc123==") == [AuthChallenge(scheme: "Negotiate", token68: "abc123==")])
        #expect(AuthChallenge.parse("Bearer") == [AuthChallenge(scheme: "Bearer")])
        #expect(AuthChallenge.parse("Bearer, Basic realm=x").map(\.scheme) == ["Bearer", "Basic"])
        #expect(AuthChallenge.parse("") == [])
    }
}

@Suite("Discovery order and identifiers")
struct DiscoveryOrderTests {
    @Test func protectedResourceCandidates() {
        #expect(
            OAuthDiscovery.protectedResourceMetadataURLs(
                serverURL: "https://mcp.example.com/public/mcp",
                headerURL: "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp")
                == [
                    "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp",
                    "https://mcp.example.com/.well-known/oauth-protected-resource",
                ])
        #expect(
            OAuthDiscovery.protectedResourceMetadataURLs(serverURL: "https://mcp.example.com/mcp", headerURL: nil)
                == [
                    "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                    "https://mcp.example.com/.well-known/oauth-protected-resource",
                ])
        #expect(
            OAuthDiscovery.protectedResourceMetadataURLs(serverURL: "https://mcp.example.com", headerURL: nil)
                == ["https://mcp.example.com/.well-known/oauth-protected-resource"])
    }

    @Test func authorizationServerCandidatesInTheSpecsOrder() {
        #expect(
            OAuthDiscovery.authorizationServerMetadataURLs(issuer: "https://auth.example.com/tenant1")
                == [
                    "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                    "https://auth.example.com/.well-known/openid-configuration/tenant1",
                    "https://auth.example.com/tenant1/.well-known/openid-configuration",
                ])
        #expect(
            OAuthDiscovery.authorizationServerMetadataURLs(issuer: "https://auth.example.com/")
                == [
                    "https://auth.example.com/.well-known/oauth-authorization-server",
                    "https://auth.example.com/.well-known/openid-configuration",
                ])
    }

    @Test func issuerComparison() {
        #expect(OAuthIdentifiers.issuersMatch("https://as.example", "https://as.example/"))
        #expect(!OAuthIdentifiers.issuersMatch("https://as.example/t", "https://as.example/t/"))
        #expect(!OAuthIdentifiers.issuersMatch("https://AS.example", "https://as.example"))
        #expect(!OAuthIdentifiers.issuersMatch("https://as.example", "https://evil.example"))
    }

    @Test func resourceCoverage() {
        #expect(OAuthIdentifiers.resourceCovers(advertised: "http://h:1/", requested: "http://h:1/mcp"))
        #expect(OAuthIdentifiers.resourceCovers(advertised: "http://h:1/mcp", requested: "http://h:1/mcp"))
        #expect(OAuthIdentifiers.resourceCovers(advertised: "HTTP://H:1/mcp", requested: "http://h:1/mcp/"))
        #expect(!OAuthIdentifiers.resourceCovers(advertised: "http://h:1/mcp", requested: "http://h:1/mcp2"))
        #expect(!OAuthIdentifiers.resourceCovers(advertised: "http://h:1/mcp", requested: "http://h:2/mcp"))
        #expect(HTTPURL("HTTP://Example.COM/")?.canonicalResource == "http://example.com")
        #expect(HTTPURL("http://user@evil/x") == nil)
    }
}

@Suite("PKCE, callbacks, tokens")
struct PrimitiveTests {
    @Test func pkceRFC7636AppendixB() {
        let pkce = PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        #expect(pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let fresh = PKCE.generate()
        #expect(fresh.verifier.count == 43)
        #expect(fresh.verifier != PKCE.generate().verifier)
    }

    @Test func callbackParsing() throws {
        let callback = try AuthorizationCallback(
            query: "http://localhost:3030/callback?code=c%2B1&state=s&iss=http%3A%2F%2Fas&error_description=a+b")
        #expect(callback == AuthorizationCallback(code: "c+1", state: "s", iss: "http://as", errorDescription: "a b"))
        #expect(throws: OAuthError.invalidCallback("parameter state appears twice")) {
            try AuthorizationCallback(query: "state=a&state=b&code=c")
        }
    }

    @Test func tokensNeverShowTheirSecrets() {
        let tokens = OAuthTokens(
            accessToken: "at-SECRET", refreshToken: "rt-SECRET", scope: "mcp",
            expiresAt: Date(timeIntervalSince1970: 2_000_000_000),
            obtainedAt: Date(timeIntervalSince1970: 1_999_996_400),
            issuer: "http://as", resource: "http://rs/mcp", clientID: "c")
        for text in [
            "\(tokens)", String(reflecting: tokens),
            {
                var out = ""
                dump(tokens, to: &out)
                return out
            }(),
        ] {
            #expect(!text.contains("SECRET"), "\(text)")
        }
        #expect(
            "\(tokens)"
                == "OAuthTokens(access_token: <redacted>, refresh_token: <redacted>, scope: mcp, expires_at: 2000000000, issuer: http://as)"
        )
        let registration = ClientRegistration(
            clientID: "c", clientSecret: "cs-SECRET", authMethod: .clientSecretPost, issuer: "http://as",
            redirectURIs: [], grantTypes: [], source: .dynamic)
        #expect(!"\(registration)".contains("SECRET"))
    }

    @Test func refreshMargin() {
        let start = Date(timeIntervalSince1970: 1_000)
        let long = OAuthTokens(
            accessToken: "a", expiresAt: start.addingTimeInterval(3600), obtainedAt: start, issuer: "i", resource: "r",
            clientID: "c")
        #expect(long.refreshMargin == 60)
        #expect(!long.isDue(at: start.addingTimeInterval(3539)))
        #expect(long.isDue(at: start.addingTimeInterval(3540)))
        let short = OAuthTokens(
            accessToken: "a", expiresAt: start.addingTimeInterval(4), obtainedAt: start, issuer: "i", resource: "r",
            clientID: "c")
        #expect(short.refreshMargin == 2)
        let stored = OAuthTokens(json: long.json)
        #expect(stored == long)
    }

    @Test func tokenResponseParsing() throws {
        let now = Date(timeIntervalSince1970: 100)
        let tokens = try OAuthTokens.fromTokenResponse(
            ["access_token": "a", "token_type": "bearer", "expires_in": "60"], issuer: "i", resource: "r",
            clientID: "c", requestedScope: "mcp", now: now)
        #expect(tokens.expiresAt == Date(timeIntervalSince1970: 160))
        #expect(tokens.scope == "mcp")
        #expect(
            throws: OAuthError.tokenRequestFailed(
                status: 200, error: "unsupported_token_type", description: "token_type DPoP (only Bearer)")
        ) {
            try OAuthTokens.fromTokenResponse(
                ["access_token": "a", "token_type": "DPoP"], issuer: "i", resource: "r", clientID: "c",
                requestedScope: nil)
        }
    }

    @Test func authorizationRequiredBody() {
        let prompt = AuthorizationPrompt(
            server: "secure", user: nil, url: "http://as/authorize?x=1", expiresAt: Date(timeIntervalSince1970: 5))
        #expect(
            OAuthPages.authorizationRequiredBody(prompt).text
                == #"{"error":"authentication_required","message":"Authorization required for secure: [authorize here](http://as/authorize?x=1), then retry.","server":"secure","authorization_url":"http://as/authorize?x=1","expires_at":5}"#
        )
        #expect(OAuthPages.failure(server: "s", reason: "<script>").contains("&lt;script&gt;"))
        #expect(
            OAuthPages.statusBody(server: "secure", user: "0123456789", status: .pending(prompt)).text
                == #"{"server":"secure","user_id":"01234567...","authenticated":false,"state":"pending","#
                + #""authorization_url":"http://as/authorize?x=1","expires_at":5}"#)
        #expect(
            OAuthPages.statusBody(
                server: "secure", user: nil,
                status: .authorized(expiresAt: Date(timeIntervalSince1970: 9), scope: "mcp")
            ).text == #"{"server":"secure","authenticated":true,"state":"authorized","scope":"mcp","expires_at":9}"#)
    }
}
