import Foundation
import JSONValue
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// OAuth toward a protected MCP server, through the real `mcpo` binary: `oauth_fixture.py` runs a real
/// authorization server (discovery metadata, dynamic registration, PKCE, refresh with rotation, revocation,
/// device and client credentials grants) and a FastMCP server that checks every bearer token. One test at a time:
/// each runs a Python fixture and a proxy (one runs Chromium), which would crowd the other suites' timing bounds.
@Suite("OAuth through the proxy", .serialized, .timeLimit(.minutes(4)))
struct OAuthProxyTests {
    static let key = [("Authorization", "Bearer caller-key")]

    /// The 401 body of a server waiting for authorization, as `OAuthPages.authorizationRequiredBody` words it.
    static func requiredBody(link: String, expiresAt: JSON?, userCode: String? = nil) -> JSON {
        var body: OrderedJSONObject = ["error": "authentication_required"]
        if let userCode {
            body["message"] = .string(
                "Authorization required for secure: open [\(link)](\(link)) and enter the code \(userCode).")
        } else {
            body["message"] = .string("Authorization required for secure: [authorize here](\(link)), then retry.")
        }
        body["server"] = "secure"
        body["authorization_url"] = .string(link)
        if let userCode { body["user_code"] = .string(userCode) }
        body["expires_at"] = expiresAt ?? .null
        return .object(body)
    }

    /// Nothing secret in the proxy's log: no token the upstream server saw, no refresh token, no client secret.
    static func expectNoSecretsLogged(_ setup: OAuthProxySetup, also extra: [String] = []) async throws {
        let tokens = try await setup.upstreamTokens()
        #expect(!tokens.isEmpty)
        let secrets = Set(tokens + (try await setup.refreshTokensSent()) + extra)
        let log = setup.proxy.logText
        for secret in secrets where !secret.isEmpty {
            #expect(!log.contains(secret), "the proxy logged a secret")
        }
    }

    @Test("single user: serves while waiting, 401 with the link, loopback callback, tokens upstream only, files 0600")
    func singleUserLoopback() async throws {
        try await withOAuthProxy(
            oauth: ["storage_type": "file"], extraServers: ["local": #"{"command": "\#(TestPaths.exampleServer)"}"#],
            arguments: ["--api-key", "caller-key"]
        ) { setup in
            // The proxy serves at once; the other server is not held up by the one waiting for its user.
            #expect(await pollUntil { (try? await setup.readiness())?["state"] == "awaiting_authorization" })
            let echo = try await TestHTTP.post(setup.proxy, "/local/echo", ["text": "meanwhile"], headers: Self.key)
            #expect(echo.status == 200 && echo.json == "meanwhile", "\(echo.text)")

            // The link: in the log, on the status route (public, like the documents), in /readyz.
            let status = try await setup.get("/oauth/secure/status")
            #expect(status.status == 200, "\(status.text)")
            #expect(status.json?["server"] == "secure" && status.json?["state"] == "pending")
            #expect(status.json?["authenticated"] == false)
            let link = try #require(status.json?["authorization_url"]?.stringValue)
            #expect(try await setup.readiness()?["authorizationURL"]?.stringValue == link)
            #expect(setup.proxy.logText.contains("OAuth authorization needed: open \(link)"))
            let query = queryParameters(link)
            #expect(link.hasPrefix(setup.fixture.issuer + "/authorize?"))
            #expect(query["redirect_uri"] == "http://localhost:\(setup.callbackPort)/callback")
            #expect(query["resource"] == setup.fixture.mcpURL)
            #expect(query["code_challenge_method"] == "S256")
            #expect(query["scope"] == "mcp offline_access")
            #expect(FixturePorts.accepts(setup.callbackPort), "the loopback listener runs before the link is shown")

            // The tools answer 401 with the link (after the API key check).
            let refused = try await setup.whoami(Self.key)
            #expect(refused.status == 401)
            #expect(refused.json == Self.requiredBody(link: link, expiresAt: status.json?["expires_at"]))
            let noKey = try await setup.whoami()
            #expect(noKey.status == 401)
            #expect(noKey.json == ["detail": "Missing or invalid Authorization header"])

            // The browser: the authorization server redirects to the loopback listener, which completes it.
            let visit = try await RedirectBrowser.open(link)
            #expect(visit.status == 200, "\(visit.body)")
            #expect(visit.body.contains("<title>Authorization Successful - MCPO</title>"))
            #expect(visit.hops.count == 2)
            #expect(visit.finalURL.hasPrefix("http://localhost:\(setup.callbackPort)/callback?code="))

            // Discovery from the server's 401, dynamic registration, then the code exchange with the PKCE verifier.
            let metadata = try await setup.fixture.requests("rs", "GET", "/.well-known/oauth-protected-resource/mcp")
            #expect(!metadata.isEmpty)
            #expect(try await !setup.fixture.requests("as", "GET", "/.well-known/oauth-authorization-server").isEmpty)
            let registrations = try await setup.fixture.requests("as", "POST", "/register")
            #expect(registrations.count == 1)
            #expect(registrations.first?["json"]?["client_name"] == "MCPO Client for secure")
            #expect(
                registrations.first?["json"]?["redirect_uris"]
                    == [.string("http://localhost:\(setup.callbackPort)/callback")])
            #expect(await pollUntil { (try? await setup.tokenRequests(grant: "authorization_code")) == 1 })
            let exchange = try #require(try await setup.fixture.requests("as", "POST", "/token").first?["form"])
            #expect(exchange["code"]?.stringValue == queryParameters(visit.finalURL)["code"])
            #expect(exchange["redirect_uri"]?.stringValue == "http://localhost:\(setup.callbackPort)/callback")
            #expect(exchange["resource"]?.stringValue == setup.fixture.mcpURL)
            #expect(exchange["code_verifier"]?.stringValue?.count == 43)

            // The server connects by itself; the tool runs with the proxy's token.
            #expect(await pollUntil { (try? await setup.whoami(Self.key))?.status == 200 })
            let call = try await setup.whoami(Self.key)
            #expect(call.status == 200, "\(call.text)")
            #expect(call.json?["sub"] == "alice")
            #expect(call.json?["scope"] == "mcp offline_access")
            #expect(call.json?["client_id"] == "client-1")
            let after = try await setup.get("/oauth/secure/status")
            #expect(after.json?["state"] == "authorized" && after.json?["authenticated"] == true)
            #expect(after.json?["scope"] == "mcp offline_access")
            #expect(try await setup.readiness()?["state"] == "connected")
            #expect(await pollUntil { !FixturePorts.accepts(setup.callbackPort) }, "the listener stops once used")

            // The caller's API key never went upstream: only the proxy's own tokens did.
            let upstream = try await setup.upstreamTokens()
            #expect(!upstream.isEmpty)
            #expect(!upstream.contains("caller-key"))
            #expect(upstream.allSatisfy { $0.hasPrefix("at-") })

            // Stored 0600 in a 0700 folder; the stored token is the one in use; no secret in the log.
            let file = setup.tokensFolder + "/secure.tokens.json"
            #expect(fileMode(setup.tokensFolder) == 0o700)
            #expect(fileMode(file) == 0o600)
            #expect(fileMode(setup.tokensFolder + "/secure.clients.json") == 0o600)
            let saved = try JSON.parse(String(contentsOfFile: file, encoding: .utf8))
            #expect(saved["access_token"]?.stringValue == upstream.last)
            try await Self.expectNoSecretsLogged(
                setup, also: ["secret-1", saved["refresh_token"]?.stringValue ?? ""])
        }
    }

    @Test("single user: refresh on 401 and ahead of expiry, revocation and re-login, the proxy's own callback")
    func refreshRevocationAndProxyCallback() async throws {
        try await withOAuthProxy(
            fixtureFlags: ["--token-lifetime", "16"], oauth: ["use_loopback": false, "storage_type": "memory"]
        ) { setup in
            #expect(await pollUntil { (try? await setup.readiness())?["state"] == "awaiting_authorization" })
            let link = try #require(try await setup.get("/oauth/secure/status").json?["authorization_url"]?.stringValue)
            let callback = "http://127.0.0.1:\(setup.proxy.port)/oauth/secure/callback"
            #expect(queryParameters(link)["redirect_uri"] == callback)
            #expect(!FixturePorts.accepts(setup.callbackPort), "use_loopback false: no loopback listener")

            // The browser lands on the proxy's own callback route.
            let visit = try await RedirectBrowser.open(link)
            #expect(visit.hops.count == 2 && visit.finalURL.hasPrefix(callback + "?code="), "\(visit.hops)")
            #expect(visit.status == 200 && visit.body.contains("Authorization Successful!"))
            #expect(await pollUntil { (try? await setup.whoami())?.status == 200 })
            #expect(try await setup.tokenRequests(grant: "refresh_token") == 0)

            // The upstream server refuses the token (it expired there): refreshed once, the call retried, 200.
            try await setup.fixture.admin("/_admin/expire_all")
            let refreshed = try await setup.whoami()
            #expect(refreshed.status == 200 && refreshed.json?["sub"] == "alice", "\(refreshed.text)")
            #expect(try await setup.tokenRequests(grant: "refresh_token") == 1)
            let metrics = PrometheusText.samples(try await setup.get("/metrics").text)
            #expect(metrics[#"mcpo_oauth_refreshes_total{server="secure",result="success"}"#] == 1)
            let invalid = try await setup.fixture.requests("rs", "POST", "/mcp").filter { $0["token"] == "invalid" }
            #expect(invalid.count == 1, "exactly one request met the expired token")

            // Ahead of expiry (half the lifetime of a short token): calls go on until the token is past half its life;
            // it is then refreshed before it is used, and no call ever meets an expired token.
            var ahead = try await setup.whoami()
            let refreshedAhead = try await pollUntil(within: .seconds(90), every: .milliseconds(250)) {
                ahead = try await setup.whoami()
                guard ahead.status == 200 else { return true }
                return try await setup.tokenRequests(grant: "refresh_token") == 2
            }
            #expect(refreshedAhead)
            #expect(ahead.status == 200 && ahead.json?["sub"] == "alice", "\(ahead.text)")
            #expect(try await setup.tokenRequests(grant: "refresh_token") == 2)
            let invalidAfter = try await setup.fixture.requests("rs", "POST", "/mcp").filter {
                $0["token"] == "invalid"
            }
            #expect(invalidAfter.count == 1)

            // Revoked at the authorization server: the refresh is refused, so the call gets a new link.
            try await setup.fixture.admin("/_admin/revoke_all")
            let revoked = try await setup.whoami()
            #expect(revoked.status == 401, "\(revoked.text)")
            let relink = try #require(revoked.json?["authorization_url"]?.stringValue)
            #expect(relink != link && queryParameters(relink)["redirect_uri"] == callback)
            #expect(revoked.json == Self.requiredBody(link: relink, expiresAt: revoked.json?["expires_at"]))
            let waiting = try await setup.readiness()
            #expect(
                waiting?["state"] == "awaiting_authorization" && waiting?["authorizationURL"]?.stringValue == relink)

            // Logging in again brings the tools back.
            let again = try await RedirectBrowser.open(relink)
            #expect(again.status == 200 && again.body.contains("Authorization Successful!"))
            let back = try await setup.whoami()
            #expect(back.status == 200 && back.json?["sub"] == "alice", "\(back.text)")
            #expect(try await setup.readiness()?["state"] == "connected")

            // A used or unknown state is refused by the callback route.
            let replay = try await setup.get(
                "/oauth/secure/callback?" + (URL(string: again.finalURL)?.query ?? ""))
            #expect(replay.status == 400 && replay.text.contains("Authorization Failed"))
            try await Self.expectNoSecretsLogged(setup, also: ["secret-1"])
        }
    }

    @Test("single user: headless Chromium through /oauth/<server>/authorize, the authorization server and the callback")
    func headlessChromium() async throws {
        try await withOAuthProxy(oauth: ["use_loopback": false, "storage_type": "memory"]) { setup in
            #expect(await pollUntil { (try? await setup.readiness())?["state"] == "awaiting_authorization" })
            // API callers get the link as JSON; browsers are redirected.
            let api = try await setup.get("/oauth/secure/authorize")
            #expect(api.status == 401 && api.json?["error"] == "authentication_required", "\(api.text)")
            let browser = try await setup.get("/oauth/secure/authorize", [("Accept", "text/html")])
            #expect(browser.status == 302)
            #expect(browser.header("location") == api.json?["authorization_url"]?.stringValue)

            let dom = try await chromiumDOM(setup.proxy.baseURL + "/oauth/secure/authorize")
            #expect(dom.contains("Authorization Successful!"), "\(dom.prefix(500))")
            #expect(await pollUntil { (try? await setup.whoami())?.status == 200 })
            #expect(try await setup.whoami().json?["sub"] == "alice")
            let authorized = try await setup.get("/oauth/secure/authorize")
            #expect(authorized.status == 200 && authorized.json?["state"] == "authorized", "\(authorized.text)")
        }
    }

    @Test("device authorization grant: the code in the log, the status route and the 401; approved on another device")
    func deviceGrant() async throws {
        try await withOAuthProxy(oauth: ["grant": "device_code", "storage_type": "memory"]) { setup in
            #expect(await pollUntil { (try? await setup.readiness())?["state"] == "awaiting_authorization" })
            let status = try await setup.get("/oauth/secure/status")
            #expect(status.json?["state"] == "pending", "\(status.text)")
            let code = try #require(status.json?["user_code"]?.stringValue)
            let link = try #require(status.json?["authorization_url"]?.stringValue)
            #expect(link.hasPrefix(setup.fixture.issuer + "/device?user_code="))
            #expect(setup.proxy.logText.contains("and enter \(code)"))
            let refused = try await setup.whoami()
            #expect(refused.status == 401)
            #expect(
                refused.json == Self.requiredBody(link: link, expiresAt: refused.json?["expires_at"], userCode: code))

            let approved = try await setup.fixture.get(
                setup.fixture.asOrigin + "/device?user_code=\(code)&login_hint=dave")
            #expect(approved.status == 200)
            #expect(await pollUntil { (try? await setup.whoami())?.status == 200 })
            #expect(try await setup.whoami().json?["sub"] == "dave")
            try await Self.expectNoSecretsLogged(setup)
        }
    }

    @Test("client credentials: a machine-to-machine server connects at startup, no browser")
    func clientCredentials() async throws {
        try await withOAuthProxy(
            fixtureFlags: ["--preregistered", "m2m:m2m-secret:client_secret_basic"],
            oauth: [
                "grant": "client_credentials", "client_id": "m2m", "client_secret": "m2m-secret",
                "storage_type": "memory",
            ]
        ) { setup in
            #expect(await pollUntil { (try? await setup.readiness())?["state"] == "connected" })
            let call = try await setup.whoami()
            #expect(
                call.status == 200 && call.json?["sub"] == "m2m" && call.json?["client_id"] == "m2m", "\(call.text)")
            #expect(try await setup.tokenRequests(grant: "client_credentials") == 1)
            #expect(try await setup.fixture.requests("as", "GET", "/authorize").isEmpty)
            try await Self.expectNoSecretsLogged(setup, also: ["m2m-secret"])
        }
    }

    @Test("a bad oauth block stops the start, and a reload, naming the file, the server and the key")
    func badOAuthBlock() async throws {
        let folder = NSTemporaryDirectory() + "mcpo-oauth-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/mcp.json"
        let url = "http://127.0.0.1:\(try FixturePorts.reserve())/mcp"
        func write(_ oauth: String) throws {
            let text = #"{"mcpServers": {"secure": {"type": "streamable-http", "url": "\#(url)", "oauth": \#(oauth)}}}"#
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        }
        try write(#"{"server_url": "\#(url)", "callback_port": 0}"#)
        let outcome = try await ProcessRunner.run(
            TestPaths.mcpo, ["--host", "127.0.0.1", "--port", "0", "--config", file],
            environment: ["XDG_CONFIG_HOME": folder + "/xdg", "PATH": "/usr/bin:/bin"], bound: .seconds(30))
        #expect(outcome.status == 1)
        #expect(
            outcome.output.contains(
                "Invalid configuration in \(file): server 'secure', key 'oauth.callback_port': "
                    + "must be an integer between 1 and 65535"), "\(outcome.output)")

        try write(#"{"server_url": "\#(url)", "storage_type": "memory", "use_loopback": false}"#)
        let strict = ["--config", file, "--api-key", "caller-key", "--strict-auth"]
        try await withProxy(strict, environment: ["XDG_CONFIG_HOME": folder + "/xdg"]) { proxy in
            // --strict-auth guards the status route like the documents; the callback stays public.
            #expect(try await TestHTTP.get(proxy, "/oauth/secure/status").status == 401)
            let callback = try await TestHTTP.get(proxy, "/oauth/secure/callback?code=c&state=unknown")
            #expect(callback.status == 400 && callback.text.contains("unknown or already used state"))
            try write(#"{"server_url": "\#(url)", "storage_type": "disk"}"#)
            kill(proxy.process.processIdentifier, SIGHUP)
            #expect(
                await proxy.waitForLog(
                    "rejected, still serving the previous config: Invalid configuration in \(file): server 'secure', "
                        + #"key 'oauth.storage_type': must be "file" or "memory", got "disk""#))
            #expect(try await TestHTTP.get(proxy, "/oauth/secure/status", headers: Self.key).status == 200)
        }
    }

    // MARK: - Multi-user

    static let webuiKey = "webui-secret-key"

    @Test("multi-user: Open WebUI users each with their own upstream token and session; forged or expired refused")
    func multiUserOpenWebUI() async throws {
        try await withOAuthProxy(
            oauth: ["multi_user": true, "webui_secret_key": .string(Self.webuiKey), "storage_type": "file"]
        ) { setup in
            let alice = [("Authorization", "Bearer " + TestJWT.openWebUI(id: "user-alice", key: Self.webuiKey))]
            let bob = [("Authorization", "Bearer " + TestJWT.openWebUI(id: "user-bob", key: Self.webuiKey))]
            let ready = try await setup.readiness()
            #expect(ready?["state"] == "multi_user" && ready?["userSessions"] == 0, "\(String(describing: ready))")
            // Until a user has authorized, the document has no tools (they appear with the first user).
            #expect(try await setup.get("/secure/openapi.json").json?["paths"] == [:])
            let base = "http://127.0.0.1:\(setup.proxy.port)"

            // No session: where to sign in.
            let anonymous = try await setup.whoami()
            #expect(anonymous.status == 401)
            #expect(anonymous.json?["authorization_url"]?.stringValue == base + "/oauth/secure/authorize")

            // Alice: her own link, through the proxy's callback.
            let first = try await setup.whoami(alice)
            #expect(first.status == 401 && first.json?["error"] == "authentication_required", "\(first.text)")
            let aliceLink = try #require(first.json?["authorization_url"]?.stringValue)
            #expect(queryParameters(aliceLink)["redirect_uri"] == base + "/oauth/secure/callback")
            let visit = try await RedirectBrowser.open(aliceLink + "&login_hint=alice")
            #expect(visit.status == 200 && visit.body.contains("Authorization Successful!"), "\(visit.body)")
            #expect(visit.finalURL.hasPrefix(base + "/oauth/secure/callback?code="))
            #expect(await pollUntil { (try? await setup.whoami(alice))?.status == 200 })
            #expect(try await setup.whoami(alice).json?["sub"] == "alice")
            #expect(try await setup.get("/secure/openapi.json").json?["paths"]?["/whoami"] != nil)

            // Bob is not authorized by Alice's login; his own link, his own token.
            let bobFirst = try await setup.whoami(bob)
            #expect(bobFirst.status == 401, "\(bobFirst.text)")
            let bobFirstLink = try #require(bobFirst.json?["authorization_url"]?.stringValue)
            #expect(queryParameters(bobFirstLink)["state"] != queryParameters(aliceLink)["state"])
            // Bob's link completed in Alice's session is refused (and used up).
            let crossed = try await RedirectBrowser.open(bobFirstLink + "&login_hint=bob", headers: alice)
            #expect(crossed.status == 400 && crossed.body.contains("the authorization was started by another user"))
            #expect(try await setup.whoami(alice).json?["sub"] == "alice")
            let bobAgain = try await setup.whoami(bob)
            #expect(bobAgain.status == 401, "\(bobAgain.text)")
            let bobLink = try #require(bobAgain.json?["authorization_url"]?.stringValue)
            #expect(bobLink != bobFirstLink)
            let bobVisit = try await RedirectBrowser.open(bobLink + "&login_hint=bob")
            #expect(bobVisit.status == 200 && bobVisit.body.contains("Authorization Successful!"))
            let bobCall = try await setup.whoami(bob)
            #expect(bobCall.status == 200 && bobCall.json?["sub"] == "bob", "\(bobCall.text)")
            #expect(try await setup.whoami(alice).json?["sub"] == "alice")
            #expect(try await setup.readiness()?["userSessions"] == 2)

            // Each user's status.
            let aliceStatus = try await setup.get("/oauth/secure/status", alice)
            #expect(aliceStatus.json?["user_id"] == "user-ali..." && aliceStatus.json?["state"] == "authorized")
            #expect(try await setup.get("/oauth/secure/status").status == 401)

            // Tokens that do not verify are refused, never taken for a user.
            let forged = try await setup.whoami([
                ("Authorization", "Bearer " + TestJWT.openWebUI(id: "user-alice", key: "not-the-key"))
            ])
            #expect(forged.status == 401)
            #expect(forged.json == ["detail": "Invalid session token: invalid token signature"])
            #expect(forged.header("www-authenticate") == #"Bearer error="invalid_token""#)
            let expired = try await setup.whoami([
                ("Authorization", "Bearer " + TestJWT.openWebUI(id: "user-alice", key: Self.webuiKey, lifetime: -60))
            ])
            #expect(expired.status == 401 && expired.json == ["detail": "Invalid session token: token expired"])
            let exp = Int(Date().timeIntervalSince1970) + 3600
            let unsigned = try await setup.whoami([
                (
                    "Authorization",
                    "Bearer " + TestJWT.make(["id": "user-alice", "exp": .int(exp)], key: "", algorithm: "none")
                )
            ])
            #expect(unsigned.status == 401)
            #expect(unsigned.json == ["detail": "Invalid session token: unsupported token algorithm none (only HS256)"])
            let noExpiry = try await setup.whoami([
                ("Authorization", "Bearer " + TestJWT.make(["id": "user-alice"], key: Self.webuiKey))
            ])
            #expect(
                noExpiry.status == 401 && noExpiry.json == ["detail": "Invalid session token: token has no exp claim"])

            // Upstream saw two users' tokens, never an Open WebUI token; per-user files are 0600.
            let upstream = try await setup.upstreamTokens()
            #expect(upstream.allSatisfy { $0.hasPrefix("at-") })
            let subjects = Set(
                try await setup.fixture.log().compactMap { $0["server"] == "rs" ? $0["sub"]?.stringValue : nil })
            #expect(subjects == ["alice", "bob"])
            let users = setup.tokensFolder + "/secure.users"
            #expect(fileMode(users) == 0o700)
            for id in ["user-alice", "user-bob"] {
                #expect(fileMode(users + "/" + TestJWT.sha256Hex(id).prefix(32) + ".json") == 0o600)
            }
            try await Self.expectNoSecretsLogged(setup)
        }
    }

    @Test("multi-user: proxy session cookies beside the API key, idle sessions expire and are cleaned up")
    func multiUserCookieSessions() async throws {
        try await withOAuthProxy(
            oauth: ["multi_user": true, "storage_type": "memory", "session_timeout_minutes": 0.1],
            arguments: ["--api-key", "caller-key"]
        ) { setup in
            // First visit: a new session in an HttpOnly, Secure, SameSite=Lax cookie, and the redirect.
            let visit = try await setup.get("/oauth/secure/authorize", [("Accept", "text/html")])
            #expect(visit.status == 302, "\(visit.text)")
            let setCookie = try #require(visit.header("set-cookie"))
            #expect(setCookie.hasPrefix("mcpo_session="))
            #expect(setCookie.hasSuffix("; Max-Age=6; Path=/; HttpOnly; Secure; SameSite=Lax"))
            let session = String(setCookie.dropFirst("mcpo_session=".count).prefix { $0 != ";" })
            let cookie = ("Cookie", "mcpo_session=" + session)
            let location = try #require(visit.header("location"))
            #expect(queryParameters(location)["redirect_uri"] == setup.proxy.baseURL + "/oauth/secure/callback")

            let done = try await RedirectBrowser.open(location, headers: [cookie])
            #expect(done.status == 200 && done.body.contains("Authorization Successful!"), "\(done.body)")

            // The API key in Authorization, the user in the cookie.
            #expect(await pollUntil { (try? await setup.whoami(Self.key + [cookie]))?.status == 200 })
            let call = try await setup.whoami(Self.key + [cookie])
            #expect(call.json?["sub"] == "alice", "\(call.text)")
            #expect(call.header("set-cookie")?.hasPrefix("mcpo_session=") == true, "the session is renewed on use")
            #expect(try await setup.whoami([cookie]).status == 401, "the API key is still required")
            let asBearer = try await setup.whoami([("Authorization", "Bearer " + session)])
            #expect(asBearer.status == 403, "with an API key the session travels in the cookie")
            let keyOnly = try await setup.whoami(Self.key)
            #expect(keyOnly.status == 401)
            #expect(keyOnly.json?["authorization_url"]?.stringValue == setup.proxy.baseURL + "/oauth/secure/authorize")
            #expect(try await setup.readiness()?["userSessions"] == 1)

            // Idle past session_timeout_minutes: the user's upstream session ends, the cookie expires.
            #expect(await pollUntil(within: .seconds(90)) { (try? await setup.readiness())?["userSessions"] == 0 })
            let late = try await setup.whoami(Self.key + [cookie])
            #expect(late.status == 401 && late.json == ["detail": "Invalid session token: token expired"])
            try await Self.expectNoSecretsLogged(setup, also: [session])
        }
    }
}
