import Foundation
import JSONValue
import TestSupport
import Testing

@testable import MCPOAuth

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// End to end against `oauth_fixture.py`: a real authorization server and a protected MCP server on 127.0.0.1.
@Suite("OAuth flows end to end", .timeLimit(.minutes(3)))
struct FlowTests {
    /// `"<server> <method> <path>"` of every logged request.
    static func trail(_ log: [JSON]) -> [String] {
        log.map {
            "\($0["server"]?.stringValue ?? "?") \($0["method"]?.stringValue ?? "?") \($0["path"]?.stringValue ?? "?")"
        }
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        #expect(stat(path, &info) == 0, "stat \(path)")
        return info.st_mode & 0o777
    }

    @Test func singleUserBrowserFlowFromARealUnauthorizedResponse() async throws {
        try await withFixture { fixture in
            let port = try FixturePorts.reserve()
            let folder = try TemporaryFolder.make()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let store = FileTokenStore(directory: folder + "/config/mcpo/tokens")
            let capture = LogCapture()
            let settings = OAuthSettings.fixture(fixture, port: port) { $0.storageType = .file }
            let manager = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, store: store, http: oauthHTTP,
                logger: capture.logger)
            var events = await manager.events().makeAsyncIterator()

            // The MCP server refuses an unauthenticated initialize.
            let refused = try await fixture.mcp(OAuthFixture.initialize, token: nil)
            #expect(refused.status == 401)
            let challenge = refused.headers["www-authenticate"]
            #expect(
                challenge == [
                    #"Bearer error_description="Authentication required", scope="mcp", "#
                        + #"resource_metadata="\#(fixture.rsOrigin)/.well-known/oauth-protected-resource/mcp""#
                ])

            // Discovery from that challenge, dynamic registration, an authorization link.
            let failure = await oauthFailure {
                try await manager.handleUnauthorized(failedToken: nil, wwwAuthenticate: challenge)
            }
            let prompt = try #require(failure?.prompt)
            #expect(prompt.server == "secure" && prompt.user == nil && prompt.userCode == nil)
            let log = try await fixture.log()
            #expect(
                Self.trail(log) == [
                    "rs POST /mcp", "rs GET /.well-known/oauth-protected-resource/mcp",
                    "as GET /.well-known/oauth-authorization-server", "as POST /register",
                ])
            #expect(
                log[3]["json"]
                    == [
                        "redirect_uris": [.string("http://localhost:\(port)/callback")],
                        "token_endpoint_auth_method": "client_secret_post",
                        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                        "scope": "mcp offline_access", "client_name": "MCPO Client for secure",
                        "application_type": "native",
                    ])
            let authorize = queryItems(prompt.url)
            #expect(prompt.url.hasPrefix("\(fixture.issuer)/authorize?response_type=code&client_id=client-1&"))
            #expect(authorize["redirect_uri"] == "http://localhost:\(port)/callback")
            #expect(authorize["code_challenge_method"] == "S256")
            #expect(authorize["code_challenge"]?.count == 43)
            #expect(authorize["state"]?.count == 43)
            #expect(authorize["resource"] == fixture.mcpURL)
            #expect(authorize["scope"] == "mcp offline_access")
            #expect(FixturePorts.accepts(port), "the loopback listener runs before the link is shown")
            #expect(await manager.status() == .pending(prompt))

            // The browser: the authorization server redirects to the loopback callback.
            let visit = try await Browser.open(prompt.url)
            #expect(visit.status == 200)
            #expect(visit.body.contains("<title>Authorization Successful - MCPO</title>"))
            #expect(visit.hops.count == 2)
            #expect(visit.finalURL.hasPrefix("http://localhost:\(port)/callback?code=code-"))
            let callback = queryItems(visit.finalURL)
            #expect(callback["state"] == authorize["state"])
            #expect(callback["iss"] == fixture.issuer)
            #expect(await events.next() == .authorized(user: nil))

            // The code exchange: PKCE verifier, resource, redirect URI, client_secret_post.
            let exchanges = try await fixture.requests("as", "POST", "/token")
            #expect(exchanges.count == 1)
            let form = try #require(exchanges.first?["form"])
            #expect(form["grant_type"] == "authorization_code")
            #expect(form["code"]?.stringValue == callback["code"])
            #expect(form["redirect_uri"]?.stringValue == "http://localhost:\(port)/callback")
            #expect(form["resource"]?.stringValue == fixture.mcpURL)
            #expect(form["client_id"] == "client-1")
            #expect(form["client_secret"] == "secret-1")
            let verifier = try #require(form["code_verifier"]?.stringValue)
            #expect(PKCE(verifier: verifier).challenge == authorize["code_challenge"])

            // The token opens the protected MCP server.
            let token = try await manager.accessToken()
            #expect(try await fixture.whoami(token: token)?["sub"] == "alice")
            guard case .authorized(let expiry, let scope) = await manager.status() else {
                Issue.record("not authorized")
                return
            }
            #expect(scope == "mcp offline_access")
            #expect(abs((expiry ?? .distantPast).timeIntervalSinceNow - 3600) < 30)

            // Stored 0600 in a 0700 folder, with the absolute expiry; the listener is gone.
            let file = store.tokensPath(server: "secure", user: nil)
            #expect(file == folder + "/config/mcpo/tokens/secure.tokens.json")
            #expect(Self.mode(file) == 0o600)
            #expect(Self.mode(folder + "/config/mcpo/tokens") == 0o700)
            #expect(Self.mode(folder + "/config/mcpo/tokens/secure.clients.json") == 0o600)
            let saved = try JSON.parse(String(contentsOfFile: file, encoding: .utf8))
            #expect(saved["access_token"]?.stringValue == token)
            #expect(abs((saved["expires_at"]?.doubleValue ?? 0) - Date().timeIntervalSince1970 - 3600) < 30)
            #expect(await pollUntil(within: .seconds(90)) { !FixturePorts.accepts(port) })

            // A restarted proxy uses the stored token without talking to the authorization server.
            let before = try await fixture.log().filter { $0["server"] == "as" }.count
            let restarted = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, store: store, http: oauthHTTP)
            #expect(try await restarted.accessToken() == token)
            #expect(try await fixture.log().filter { $0["server"] == "as" }.count == before)

            // Nothing secret was logged; the link was.
            let refresh = try #require(saved["refresh_token"]?.stringValue)
            for secret in [token, refresh, "secret-1", verifier, callback["code"] ?? "?"] {
                #expect(!capture.text.contains(secret), "logged a secret")
            }
            #expect(capture.text.contains("OAuth authorization needed: open \(prompt.url)"))
            await manager.shutdown()
        }
    }

    @Test func refreshAheadOfExpirySingleFlightAndOnUnauthorized() async throws {
        // Our clock is the test's, so "due" does not depend on how fast a loaded machine runs the steps.
        try await withFixture { fixture in
            let clock = TestClock()
            let (manager, _) = try await Self.signedIn(fixture, now: clock.now)
            let first = try await manager.accessToken()
            clock.advance(by: 3600 - 61)
            #expect(try await manager.accessToken() == first, "not due yet: no refresh")

            // Within a minute of the fixture's hour-long lifetime the token is due: five concurrent callers,
            // one refresh.
            clock.advance(by: 2)
            async let one = manager.accessToken()
            async let two = manager.accessToken()
            async let three = manager.accessToken()
            async let four = manager.accessToken()
            async let five = manager.accessToken()
            let tokens = try await [one, two, three, four, five]
            #expect(Set(tokens).count == 1)
            #expect(tokens[0] != first)
            var refreshes = try await fixture.requests("as", "POST", "/token").filter {
                $0["form"]?["grant_type"] == "refresh_token"
            }
            #expect(refreshes.count == 1)
            #expect(refreshes.first?["form"]?["resource"]?.stringValue == fixture.mcpURL)
            #expect(refreshes.first?["form"]?["refresh_token"]?.stringValue?.hasPrefix("rt-") == true)
            #expect(try await fixture.whoami(token: tokens[0])?["sub"] == "alice")

            // The server says 401 before our clock does: refresh on the 401.
            try await fixture.admin("/_admin/expire_all")
            let refused = try await fixture.mcp(OAuthFixture.initialize, token: tokens[0])
            #expect(refused.status == 401)
            let retry = try await manager.handleUnauthorized(
                failedToken: tokens[0], wwwAuthenticate: refused.headers["www-authenticate"])
            #expect(retry != tokens[0])
            #expect(try await fixture.mcp(OAuthFixture.initialize, token: retry).status == 200)
            // A second caller that failed with the old token gets the new one without another refresh.
            #expect(
                try await manager.handleUnauthorized(
                    failedToken: tokens[0], wwwAuthenticate: refused.headers["www-authenticate"])
                    == retry)
            refreshes = try await fixture.requests("as", "POST", "/token").filter {
                $0["form"]?["grant_type"] == "refresh_token"
            }
            #expect(refreshes.count == 2)
            #expect(try await fixture.requests("as", "GET", "/authorize").count == 1)
        }
    }

    @Test func revocationMakesRefreshFailThenReauthorizationAndSignOut() async throws {
        try await withFixture { fixture in
            let (manager, prompt) = try await Self.signedIn(fixture)
            let first = try await manager.accessToken()

            try await fixture.admin("/_admin/revoke_all")
            let refused = try await fixture.mcp(OAuthFixture.initialize, token: first)
            #expect(refused.status == 401)
            let failure = await Self.unauthorized(manager, failedToken: first, refused.headers["www-authenticate"])
            let again = try #require(failure?.prompt, "refresh refused → authorization required")
            #expect(again.url != prompt.url)
            let grants = try await fixture.requests("as", "POST", "/token").compactMap {
                $0["form"]?["grant_type"]?.stringValue
            }
            #expect(grants == ["authorization_code", "refresh_token"])
            let status = await manager.status()
            #expect(status == .pending(again))

            let relogin = try await Browser.open(again.url)
            #expect(relogin.status == 200)
            let second = try await manager.accessToken()
            #expect(second != first)
            #expect(try await fixture.whoami(token: second)?["sub"] == "alice")
            #expect(try await fixture.requests("as", "POST", "/register").count == 1, "registration reused")

            try await manager.signOut()
            let revocations = try await fixture.requests("as", "POST", "/revoke")
            #expect(revocations.count == 1)
            #expect(revocations.first?["form"]?["token_type_hint"] == "refresh_token")
            #expect(await manager.status() == .needsAuthorization)
            #expect(try await fixture.mcp(OAuthFixture.initialize, token: second).status == 401)
        }
    }

    /// A token manager for the fixture's server whose user has signed in once in the browser, and the
    /// sign-in prompt it showed.
    static func signedIn(_ fixture: OAuthFixture, now: @escaping @Sendable () -> Date = { Date() }) async throws
        -> (TokenManager, AuthorizationPrompt)
    {
        let manager = TokenManager(
            server: "secure", settings: .fixture(fixture, port: try FixturePorts.reserve()),
            endpointURL: fixture.mcpURL, http: oauthHTTP, now: now)
        let prompt = try #require(await oauthFailure { try await manager.accessToken() }?.prompt)
        #expect(try await Browser.open(prompt.url).status == 200)
        return (manager, prompt)
    }

    /// The failure of `handleUnauthorized` (a helper: the closure form crashes the 6.3 compiler's region
    /// analysis in that test).
    static func unauthorized(_ manager: TokenManager, failedToken: String, _ header: [String]) async -> OAuthError? {
        await oauthFailure { try await manager.handleUnauthorized(failedToken: failedToken, wwwAuthenticate: header) }
    }

    /// RFC 8628 §3.5: a poll that fails in transport slows the polling down instead of ending the grant.
    @Test func devicePollingOutlivesTransportFailures() async throws {
        let port = try FixturePorts.reserve()  // nothing listens there: every poll is refused
        let metadata = try #require(
            AuthorizationServerMetadata(
                json: [
                    "issuer": .string("http://127.0.0.1:\(port)"),
                    "token_endpoint": .string("http://127.0.0.1:\(port)/token"),
                ],
                url: "http://127.0.0.1:\(port)/.well-known/oauth-authorization-server"))
        let registration = ClientRegistration(
            clientID: "c", clientSecret: nil, authMethod: .none, issuer: metadata.issuer, redirectURIs: [],
            grantTypes: [DeviceAuthorization.grantType], source: .dynamic)
        let flow = AuthorizationFlow(
            http: oauthHTTP, metadata: metadata, registration: registration, resource: "http://127.0.0.1/mcp",
            logger: .init(label: "test"))
        let device = DeviceAuthorization(
            deviceCode: "d", userCode: "U", verificationURI: "http://127.0.0.1/device", verificationURIComplete: nil,
            expiresAt: Date().addingTimeInterval(600), interval: .milliseconds(100), scope: nil)
        let started = ContinuousClock.now
        let failure = await oauthFailure { try await flow.pollDeviceToken(device, bound: Duration.seconds(1)) }
        guard case .tokenRequestFailed(_, let error, _)? = failure else {
            Issue.record("expected the grant to run out, got \(String(describing: failure))")
            return
        }
        #expect(error == "expired_token")
        #expect(ContinuousClock.now - started >= .seconds(1), "polling stopped before its bound")
    }

    @Test func deviceAuthorizationGrantWithSlowDown() async throws {
        try await withFixture(["--device-slow-down", "1"]) { fixture in
            let settings = OAuthSettings.fixture(fixture, port: try FixturePorts.reserve()) { $0.grant = .deviceCode }
            let manager = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, http: oauthHTTP,
                slowDownIncrement: .milliseconds(200))
            var events = await manager.events().makeAsyncIterator()
            let prompt = try #require(await oauthFailure { try await manager.accessToken() }?.prompt)
            let code = try #require(prompt.userCode)
            #expect(code.wholeMatch(of: /\d{4}-\d{4}/) != nil)
            #expect(prompt.url == "\(fixture.issuer)/device?user_code=\(code)")
            #expect(await manager.status() == .pending(prompt))
            #expect(try await manager.authorizationPrompt() == prompt, "the same code while it waits")

            // The user approves on another device (as bob).
            #expect(try await HTTPTest.send(.GET, prompt.url + "&login_hint=bob").status == 200)
            #expect(await events.next() == .authorized(user: nil))
            let token = try await manager.accessToken()
            #expect(try await fixture.whoami(token: token)?["sub"] == "bob")

            let started = try await fixture.requests("as", "POST", "/device_authorization")
            #expect(started.count == 1)
            #expect(started.first?["form"]?["resource"]?.stringValue == fixture.mcpURL)
            #expect(started.first?["form"]?["scope"] == "mcp offline_access")
            let polls = try await fixture.requests("as", "POST", "/token")
            #expect(polls.count >= 2, "slow_down answered, then polled again")
            #expect(polls.allSatisfy { $0["form"]?["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code" })
            #expect(try await fixture.requests("as", "GET", "/authorize").isEmpty)
        }
    }

    @Test func clientCredentialsForMachineToMachine() async throws {
        try await withFixture(["--preregistered", "m2m:s3cret:client_secret_basic"]) { fixture in
            let settings = OAuthSettings.fixture(fixture, port: try FixturePorts.reserve()) {
                $0.grant = .clientCredentials
                $0.clientID = "m2m"
                $0.clientSecret = "s3cret"
            }
            let manager = TokenManager(
                server: "machine", settings: settings, endpointURL: fixture.mcpURL, http: oauthHTTP)
            let token = try await manager.accessToken()
            let identity = try await fixture.whoami(token: token)
            #expect(identity?["sub"] == "m2m" && identity?["client_id"] == "m2m")
            let requests = try await fixture.requests("as", "POST", "/token")
            #expect(requests.count == 1)
            #expect(
                requests.first?["form"] == [
                    "grant_type": "client_credentials", "resource": .string(fixture.mcpURL), "scope": "mcp",
                ])
            #expect(
                requests.first?["authorization"]?.stringValue == "Basic "
                    + Data("m2m:s3cret".utf8).base64EncodedString())
            #expect(try await fixture.requests("as", "POST", "/register").isEmpty)
            #expect(try await fixture.requests("as", "GET", "/authorize").isEmpty)

            try await fixture.admin("/_admin/expire_all")
            let refused = try await fixture.mcp(OAuthFixture.initialize, token: token)
            let renewed = try await manager.handleUnauthorized(
                failedToken: token, wwwAuthenticate: refused.headers["www-authenticate"])
            #expect(renewed != token)
            #expect(try await fixture.mcp(OAuthFixture.initialize, token: renewed).status == 200)
            #expect(
                await oauthFailure { try await manager.authorizationPrompt() }
                    == .invalidSettings("grant client_credentials needs no user authorization"))
        }
    }

    @Test func stateMismatchAndReplayRefused() async throws {
        try await withFixture { fixture in
            let port = try FixturePorts.reserve()
            let manager = TokenManager(
                server: "secure", settings: .fixture(fixture, port: port), endpointURL: fixture.mcpURL, http: oauthHTTP)
            let prompt = try #require(await oauthFailure { try await manager.accessToken() }?.prompt)

            let forged = try await HTTPTest.send(.GET, "http://127.0.0.1:\(port)/callback?code=stolen&state=wrong")
            #expect(forged.status == 400)
            #expect(forged.body.contains("<title>Authorization Failed - MCPO</title>"))
            #expect(forged.body.contains("unknown or already used state"))
            #expect(try await HTTPTest.send(.GET, "http://127.0.0.1:\(port)/other").status == 404)
            #expect(
                await oauthFailure { try await manager.completeAuthorization(query: "code=x&state=nope") }
                    == .invalidCallback("unknown or already used state; start the authorization again"))
            #expect(try await fixture.requests("as", "POST", "/token").isEmpty)

            // The real callback still works, once.
            let visit = try await Browser.open(prompt.url)
            #expect(visit.status == 200)
            #expect(
                await oauthFailure { try await manager.completeAuthorization(query: visit.finalURL) }
                    == .invalidCallback("unknown or already used state; start the authorization again"))
            #expect(try await fixture.requests("as", "POST", "/token").count == 1)
        }
    }

    @Test(
        arguments: [
            (["--iss-response", "wrong"], "authorization response refused: iss http://evil.example is not the issuer"),
            (["--iss-response", "absent"], "authorization response refused: iss missing, but"),
            (["--iss-response", "absent", "--no-iss-supported"], nil),
        ] as [([String], String?)])
    func issuerIdentificationInTheResponse(flags: [String], refusal: String?) async throws {
        try await withFixture(flags) { fixture in
            let manager = TokenManager(
                server: "secure", settings: .fixture(fixture, port: try FixturePorts.reserve()),
                endpointURL: fixture.mcpURL,
                http: oauthHTTP)
            let prompt = try #require(await oauthFailure { try await manager.accessToken() }?.prompt)
            let visit = try await Browser.open(prompt.url)
            if let refusal {
                #expect(visit.status == 400)
                #expect(visit.body.contains(OAuthPages.escape(refusal)))
                #expect(try await fixture.requests("as", "POST", "/token").isEmpty, "the code is never redeemed")
                #expect(await manager.status() == .needsAuthorization)
            } else {
                #expect(visit.status == 200)
                #expect(try await fixture.requests("as", "POST", "/token").count == 1)
            }
        }
    }

    @Test(arguments: [["--no-pkce"], ["--plain-pkce-only"]])
    func authorizationServerWithoutPKCES256Refused(flags: [String]) async throws {
        try await withFixture(flags) { fixture in
            let manager = TokenManager(
                server: "secure", settings: .fixture(fixture, port: try FixturePorts.reserve()),
                endpointURL: fixture.mcpURL,
                http: oauthHTTP)
            #expect(await oauthFailure { try await manager.accessToken() } == .pkceUnsupported(issuer: fixture.issuer))
            #expect(try await fixture.requests("as", "POST", "/register").isEmpty, "no registration with such a server")
        }
    }

    @Test func issuerMismatchRefused() async throws {
        try await withFixture(["--issuer-mismatch"]) { fixture in
            let manager = TokenManager(
                server: "secure", settings: .fixture(fixture, port: try FixturePorts.reserve()),
                endpointURL: fixture.mcpURL,
                http: oauthHTTP)
            #expect(
                await oauthFailure { try await manager.accessToken() }
                    == .issuerMismatch(expected: fixture.issuer, actual: "http://evil.example"))
            #expect(try await fixture.requests("as", "POST", "/register").isEmpty)
        }
    }

    @Test func protectedResourceForAnotherServerRefused() async throws {
        try await withFixture(["--prm-resource", "http://127.0.0.1:1/elsewhere"]) { fixture in
            let manager = TokenManager(
                server: "secure", settings: .fixture(fixture, port: try FixturePorts.reserve()),
                endpointURL: fixture.mcpURL,
                http: oauthHTTP)
            #expect(
                await oauthFailure { try await manager.accessToken() }
                    == .resourceMismatch(expected: fixture.mcpURL, advertised: "http://127.0.0.1:1/elsewhere"))
        }
    }

    @Test func wellKnownFallbacksAndIssuerWithPathViaOpenIDConfiguration() async throws {
        let flags = ["--no-resource-metadata-header", "--prm-root-only", "--as-path", "/tenant1", "--oidc-only"]
        try await withFixture(flags) { fixture in
            #expect(fixture.issuer == fixture.asOrigin + "/tenant1")
            let manager = TokenManager(
                server: "secure", settings: .fixture(fixture, port: try FixturePorts.reserve()),
                endpointURL: fixture.mcpURL,
                http: oauthHTTP)
            let refused = try await fixture.mcp(OAuthFixture.initialize, token: nil)
            #expect(
                refused.headers["www-authenticate"] == [
                    #"Bearer error_description="Authentication required", scope="mcp""#
                ])
            let prompt = try #require(
                await oauthFailure {
                    try await manager.handleUnauthorized(
                        failedToken: nil, wwwAuthenticate: refused.headers["www-authenticate"])
                }?.prompt)
            #expect(
                Self.trail(try await fixture.log()) == [
                    "rs POST /mcp", "rs GET /.well-known/oauth-protected-resource/mcp",
                    "rs GET /.well-known/oauth-protected-resource",
                    "as GET /.well-known/oauth-authorization-server/tenant1",
                    "as GET /.well-known/openid-configuration/tenant1", "as POST /tenant1/register",
                ])
            let visit = try await Browser.open(prompt.url)
            #expect(visit.status == 200)
            #expect(queryItems(visit.finalURL)["iss"] == fixture.issuer)
            #expect(try await fixture.whoami(token: try await manager.accessToken())?["sub"] == "alice")
        }
    }

    @Test func stepUpOnInsufficientScopeWithARetryLimit() async throws {
        try await withFixture { fixture in
            let (manager, _) = try await Self.signedIn(fixture)
            let narrow = try await manager.accessToken()

            let forbidden = try await fixture.mcp(OAuthFixture.initialize, token: narrow, path: "/mcp-admin")
            #expect(forbidden.status == 403)
            let challenge = forbidden.headers["www-authenticate"]
            #expect(
                challenge == [
                    #"Bearer error="insufficient_scope", error_description="More scope needed", scope="mcp admin", "#
                        + #"resource_metadata="\#(fixture.rsOrigin)/.well-known/oauth-protected-resource/mcp""#
                ])
            let stepUp = try #require(
                await oauthFailure {
                    try await manager.handleInsufficientScope(failedToken: narrow, wwwAuthenticate: challenge)
                }?.prompt)
            #expect(queryItems(stepUp.url)["scope"] == "mcp admin offline_access")
            #expect(try await Browser.open(stepUp.url).status == 200)
            let wide = try await manager.accessToken()
            #expect(try await fixture.whoami(token: wide, path: "/mcp-admin")?["scope"] == "mcp admin offline_access")

            // A server that keeps asking for more: two step-ups, then a permanent failure.
            let greedy = [#"Bearer error="insufficient_scope", scope="mcp superpower""#]
            for _ in 0..<2 {
                let failure = await oauthFailure {
                    try await manager.handleInsufficientScope(failedToken: wide, wwwAuthenticate: greedy)
                }
                #expect(failure?.prompt != nil)
            }
            #expect(
                await oauthFailure {
                    try await manager.handleInsufficientScope(failedToken: wide, wwwAuthenticate: greedy)
                } == .insufficientScope(scope: "admin mcp offline_access superpower"))
            #expect(
                await oauthFailure {
                    try await manager.handleInsufficientScope(
                        failedToken: wide, wwwAuthenticate: ["Bearer error=\"x\""])
                } == .forbidden("HTTP 403 from the server"))
        }
    }

    @Test func proxyCallbackRouteCompletesLoopbackAndNonLoopbackRedirects() async throws {
        try await withFixture { fixture in
            // use_loopback true: the proxy's own route may deliver the loopback redirect's query too.
            let port = try FixturePorts.reserve()
            let loopback = TokenManager(
                server: "secure", settings: .fixture(fixture, port: port), endpointURL: fixture.mcpURL, http: oauthHTTP)
            let first = try #require(await oauthFailure { try await loopback.accessToken() }?.prompt)
            let stopped = try await Browser.open(first.url) { $0.hasPrefix("http://localhost:\(port)/") }
            #expect(try await loopback.completeAuthorization(query: stopped.finalURL) == nil)
            #expect(try await fixture.whoami(token: try await loopback.accessToken())?["sub"] == "alice")
            await loopback.shutdown()

            // use_loopback false: the redirect is the proxy's callback route (the browser stops before it).
            let proxyCallback = "https://proxy.example/oauth/secure/callback"
            let settings = OAuthSettings.fixture(fixture, port: try FixturePorts.reserve()) { $0.useLoopback = false }
            let routed = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, http: oauthHTTP,
                proxyCallbackURL: proxyCallback)
            let prompt = try #require(await oauthFailure { try await routed.accessToken() }?.prompt)
            #expect(queryItems(prompt.url)["redirect_uri"] == proxyCallback)
            #expect(!FixturePorts.accepts(settings.callbackPort))
            let visit = try await Browser.open(prompt.url) { $0.hasPrefix(proxyCallback) }
            #expect(try await routed.completeAuthorization(query: visit.finalURL) == nil)
            #expect(try await fixture.whoami(token: try await routed.accessToken())?["sub"] == "alice")
            let registrations = try await fixture.requests("as", "POST", "/register")
            #expect(registrations.last?["json"]?["redirect_uris"] == [.string(proxyCallback)])
            #expect(registrations.last?["json"]?["application_type"] == "web")

            let noRedirect = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, http: oauthHTTP)
            #expect(
                await oauthFailure { try await noRedirect.accessToken() }
                    == .invalidSettings(
                        "no redirect URI: set oauth.redirect_uri (the proxy's /oauth/secure/callback as browsers reach it)"
                    ))
        }
    }

    @Test func twoUsersKeptApartAndIdleSessionsExpire() async throws {
        try await withFixture { fixture in
            let clock = TestClock()
            let callback = "http://127.0.0.1:9/oauth/secure/callback"
            let settings = OAuthSettings.fixture(fixture, port: try FixturePorts.reserve()) { $0.multiUser = true }
            let manager = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, http: oauthHTTP,
                proxyCallbackURL: callback, now: clock.now)
            var tokens: [String: String] = [:]
            for (user, login) in [("user-alice", "alice"), ("user-bob", "bob")] {
                let prompt = try #require(await oauthFailure { try await manager.accessToken(for: user) }?.prompt)
                #expect(prompt.user == user)
                let visit = try await Browser.open(prompt.url + "&login_hint=\(login)") { $0.hasPrefix(callback) }
                #expect(try await manager.completeAuthorization(query: visit.finalURL, expectedUser: user) == user)
                tokens[user] = try await manager.accessToken(for: user)
            }
            let alice = try #require(tokens["user-alice"])
            let bob = try #require(tokens["user-bob"])
            #expect(alice != bob)
            #expect(try await fixture.whoami(token: alice)?["sub"] == "alice")
            #expect(try await fixture.whoami(token: bob)?["sub"] == "bob")
            #expect(try await fixture.requests("as", "POST", "/register").count == 1, "one client, many users")

            // A link started for carol cannot be completed into mallory's session.
            let carol = try #require(await oauthFailure { try await manager.accessToken(for: "user-carol") }?.prompt)
            let visit = try await Browser.open(carol.url + "&login_hint=mallory") { $0.hasPrefix(callback) }
            #expect(
                await oauthFailure {
                    try await manager.completeAuthorization(query: visit.finalURL, expectedUser: "user-mallory")
                } == .invalidCallback("the authorization was started by another user"))
            #expect(await manager.status(for: "user-carol") == .needsAuthorization)
            #expect(
                await oauthFailure { try await manager.accessToken(for: nil) }
                    == .invalidSettings("a multi-user server needs the caller's user id"))

            // 31 idle minutes later every session is gone (memory storage: the tokens too).
            clock.advance(by: 29 * 60)
            _ = try await manager.accessToken(for: "user-bob")
            clock.advance(by: 2 * 60)
            #expect(await manager.expireIdleSessions() == ["user-alice", "user-carol"])
            #expect(await manager.status(for: "user-alice") == .needsAuthorization)
            #expect(try await manager.accessToken(for: "user-bob") == bob)
        }
    }

    @Test func twoServersShareOneCallbackPort() async throws {
        try await withFixture { first in
            try await withFixture { second in
                // mcpo gives every server callback_port 3030: one listener serves both, by state.
                let port = try FixturePorts.reserve()
                let one = TokenManager(
                    server: "one", settings: .fixture(first, port: port), endpointURL: first.mcpURL, http: oauthHTTP)
                let two = TokenManager(
                    server: "two", settings: .fixture(second, port: port), endpointURL: second.mcpURL, http: oauthHTTP)
                // Both start listening at the same moment: one listener, no "address in use".
                async let failureOne = oauthFailure { try await one.accessToken() }
                async let failureTwo = oauthFailure { try await two.accessToken() }
                let (firstFailure, secondFailure) = await (failureOne, failureTwo)
                let promptOne = try #require(firstFailure?.prompt)
                let promptTwo = try #require(secondFailure?.prompt)
                let ports = (await one.loopbackPort, await two.loopbackPort)
                #expect(ports.0 == port && ports.1 == port)
                let visitTwo = try await Browser.open(promptTwo.url)
                #expect(visitTwo.status == 200 && visitTwo.body.contains("authorized for two"))
                #expect(FixturePorts.accepts(port), "still waiting for server one")
                let visitOne = try await Browser.open(promptOne.url)
                #expect(visitOne.status == 200 && visitOne.body.contains("authorized for one"))
                #expect(try await first.whoami(token: try await one.accessToken())?["sub"] == "alice")
                #expect(try await second.whoami(token: try await two.accessToken())?["sub"] == "alice")
                #expect(await pollUntil(within: .seconds(90)) { !FixturePorts.accepts(port) })
            }
        }
    }

    @Test func clientIDMetadataDocumentInsteadOfRegistration() async throws {
        try await withFixture(["--cimd"]) { fixture in
            let document = "https://proxy.example/oauth/client-metadata.json"
            let settings = OAuthSettings.fixture(fixture, port: try FixturePorts.reserve()) {
                $0.clientMetadataURL = document
            }
            let manager = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, http: oauthHTTP)
            let prompt = try #require(await oauthFailure { try await manager.accessToken() }?.prompt)
            #expect(queryItems(prompt.url)["client_id"] == document)
            #expect(try await fixture.requests("as", "POST", "/register").isEmpty)
            await manager.shutdown()
        }
        // Without the server's support the document URL is not used: dynamic registration.
        try await withFixture { fixture in
            let settings = OAuthSettings.fixture(fixture, port: try FixturePorts.reserve()) {
                $0.clientMetadataURL = "https://proxy.example/oauth/client-metadata.json"
            }
            let manager = TokenManager(
                server: "secure", settings: settings, endpointURL: fixture.mcpURL, http: oauthHTTP)
            let prompt = try #require(await oauthFailure { try await manager.accessToken() }?.prompt)
            #expect(queryItems(prompt.url)["client_id"] == "client-1")
            await manager.shutdown()
        }
    }

    @Test("headless Chromium does the browser step (setup-test-env.sh installs it)")
    func headlessChromiumDoesTheBrowserStep() async throws {
        try await withFixture { fixture in
            let port = try FixturePorts.reserve()
            let manager = TokenManager(
                server: "secure", settings: .fixture(fixture, port: port), endpointURL: fixture.mcpURL, http: oauthHTTP)
            var events = await manager.events().makeAsyncIterator()
            let prompt = try #require(await oauthFailure { try await manager.accessToken() }?.prompt)
            let folder = try TemporaryFolder.make()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let chromium = Process()
            chromium.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
            chromium.arguments = [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(folder)/profile", "--dump-dom", prompt.url,
            ]
            _ = FileManager.default.createFile(atPath: folder + "/dom.html", contents: nil)
            chromium.standardOutput = FileHandle(forWritingAtPath: folder + "/dom.html")
            chromium.standardError = FileHandle.nullDevice
            try chromium.run()
            let finished = await pollUntil(within: .seconds(90), every: .milliseconds(100)) { !chromium.isRunning }
            if !finished { kill(chromium.processIdentifier, SIGKILL) }
            #expect(finished)
            let dom = try String(contentsOfFile: folder + "/dom.html", encoding: .utf8)
            #expect(dom.contains("Authorization Successful!"))
            #expect(await events.next() == .authorized(user: nil))
            #expect(try await fixture.whoami(token: try await manager.accessToken())?["sub"] == "alice")
        }
    }
}
