import Foundation
import JSONValue
import Logging

/// An authorization request in flight, kept server-side until its callback arrives: the PKCE verifier, the
/// `state`, the issuer recorded from validated metadata (for the RFC 9207 check) and what the code exchange
/// needs. Never sent anywhere except the verifier to the token endpoint.
public struct PendingAuthorization: Sendable, CustomStringConvertible {
    public let state: String
    let pkce: PKCE
    public let issuer: String
    public let issParameterSupported: Bool
    public let redirectURI: String
    public let resource: String
    public let scope: String?
    public let clientID: String
    /// The proxy user (multi-user mode); nil in single-user mode.
    public let user: String?
    /// The authorization URL to open.
    public let url: String
    public let createdAt: Date
    public let expiresAt: Date

    public var description: String {
        "PendingAuthorization(issuer: \(issuer), user: \(user ?? "-"), redirect_uri: \(redirectURI))"
    }
}

/// The parameters of an authorization response (the redirect to the callback).
public struct AuthorizationCallback: Sendable, Equatable {
    public var code: String?
    public var state: String?
    public var iss: String?
    public var error: String?
    public var errorDescription: String?

    public init(
        code: String? = nil, state: String? = nil, iss: String? = nil, error: String? = nil,
        errorDescription: String? = nil
    ) {
        self.code = code
        self.state = state
        self.iss = iss
        self.error = error
        self.errorDescription = errorDescription
    }

    /// From a query string (`code=…&state=…`) or a whole callback URL. A parameter given twice is refused
    /// (RFC 6749 §3.1: parameters MUST NOT be included more than once).
    public init(query: String) throws(OAuthError) {
        var text = Substring(query)
        if let mark = text.firstIndex(of: "?") { text = text[text.index(after: mark)...] }
        if let hash = text.firstIndex(of: "#") { text = text[..<hash] }
        var seen: [String: String] = [:]
        for (name, value) in FormEncoding.decode(String(text)) {
            if seen[name] != nil { throw .invalidCallback("parameter \(name) appears twice") }
            seen[name] = value
        }
        self.init(
            code: seen["code"], state: seen["state"], iss: seen["iss"], error: seen["error"],
            errorDescription: seen["error_description"])
    }
}

/// A device authorization (RFC 8628 §3.2) the user completes elsewhere.
public struct DeviceAuthorization: Sendable, CustomStringConvertible {
    public static let grantType = "urn:ietf:params:oauth:grant-type:device_code"

    let deviceCode: String
    public let userCode: String
    public let verificationURI: String
    public let verificationURIComplete: String?
    public let expiresAt: Date
    public let interval: Duration
    public let scope: String?

    public var description: String {
        "DeviceAuthorization(user_code: \(userCode), verification_uri: \(verificationURI))"
    }
}

/// The OAuth 2.1 exchanges with one authorization server for one client: authorization URL (PKCE S256,
/// `state`, `resource`), callback validation (`state` by the caller, `iss` per RFC 9207, `error`), code
/// exchange, refresh, device authorization grant, client credentials and revocation.
public struct AuthorizationFlow: Sendable {
    public let http: OAuthHTTPClient
    public let metadata: AuthorizationServerMetadata
    public let registration: ClientRegistration
    /// The RFC 8707 resource sent on every authorization and token request.
    public let resource: String
    public let logger: Logger

    public init(
        http: OAuthHTTPClient, metadata: AuthorizationServerMetadata, registration: ClientRegistration,
        resource: String, logger: Logger
    ) {
        self.http = http
        self.metadata = metadata
        self.registration = registration
        self.resource = resource
        self.logger = logger
    }

    // MARK: Authorization code

    /// A new authorization request: fresh `state` (32 random bytes) and PKCE verifier (32 random bytes).
    /// Refuses servers that do not advertise S256.
    public func start(
        redirectURI: String, scope: String?, user: String?, lifetime: TimeInterval = 600, now: Date = Date()
    ) throws(OAuthError) -> PendingAuthorization {
        guard metadata.supportsS256 else { throw .pkceUnsupported(issuer: metadata.issuer) }
        guard let endpoint = metadata.authorizationEndpoint, let url = HTTPURL(endpoint) else {
            throw .discoveryFailed("\(metadata.issuer) has no usable authorization_endpoint")
        }
        let pkce = PKCE.generate()
        let state = RandomToken.make(bytes: 32)
        var parameters: [(String, String)] = [
            ("response_type", "code"), ("client_id", registration.clientID), ("redirect_uri", redirectURI),
            ("state", state), ("code_challenge", pkce.challenge), ("code_challenge_method", PKCE.method),
            ("resource", resource),
        ]
        if let scope, !scope.isEmpty { parameters.append(("scope", scope)) }
        return PendingAuthorization(
            state: state, pkce: pkce, issuer: metadata.issuer,
            issParameterSupported: metadata.authorizationResponseIssParameterSupported, redirectURI: redirectURI,
            resource: resource, scope: scope, clientID: registration.clientID, user: user,
            url: url.appendingQuery(parameters), createdAt: now, expiresAt: now.addingTimeInterval(lifetime))
    }

    /// Checks an authorization response for `pending` (whose `state` the caller matched) and returns the code.
    /// RFC 9207 §2.4 as the MCP spec tabulates it: a present `iss` must equal the recorded issuer exactly;
    /// an absent one is refused when the server advertises `authorization_response_iss_parameter_supported`.
    /// On an `iss` mismatch the `error` is not looked at (it may come from another server).
    public static func code(
        from callback: AuthorizationCallback, for pending: PendingAuthorization
    ) throws(OAuthError) -> String {
        guard callback.state == pending.state else { throw .invalidCallback("state does not match") }
        if let iss = callback.iss {
            guard iss == pending.issuer else {
                throw .invalidCallback("iss \(iss) is not the issuer \(pending.issuer) the request was sent to")
            }
        } else if pending.issParameterSupported {
            throw .invalidCallback("iss missing, but \(pending.issuer) advertises that it sends iss")
        }
        if let error = callback.error {
            throw .authorizationDenied(error: error, description: callback.errorDescription)
        }
        guard let code = callback.code, !code.isEmpty else { throw .invalidCallback("no code") }
        return code
    }

    /// Redeems `code` (with the verifier, redirect URI and resource of `pending`).
    public func exchange(code: String, pending: PendingAuthorization, now: Date = Date()) async throws(OAuthError)
        -> OAuthTokens
    {
        let fields = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", pending.redirectURI),
            ("code_verifier", pending.pkce.verifier), ("resource", pending.resource),
        ]
        let json = try await tokenRequest(fields)
        return try OAuthTokens.fromTokenResponse(
            json, issuer: metadata.issuer, resource: pending.resource, clientID: registration.clientID,
            requestedScope: pending.scope, now: now)
    }

    /// RFC 6749 §6 refresh (with `resource`); `scope` only when asking for a different one. A rotated refresh
    /// token replaces the old one; without one in the answer the old one is kept.
    public func refresh(_ tokens: OAuthTokens, scope: String? = nil, now: Date = Date()) async throws(OAuthError)
        -> OAuthTokens
    {
        guard let refreshToken = tokens.refreshToken else {
            throw .tokenRequestFailed(status: 0, error: "invalid_grant", description: "no refresh token")
        }
        var fields = [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("resource", tokens.resource)]
        if let scope { fields.append(("scope", scope)) }
        let json = try await tokenRequest(fields)
        return try OAuthTokens.fromTokenResponse(
            json, issuer: metadata.issuer, resource: tokens.resource, clientID: registration.clientID,
            requestedScope: scope ?? tokens.scope, previous: tokens, now: now)
    }

    // MARK: Client credentials

    /// RFC 6749 §4.4: a token for the client itself (a confidential client).
    public func clientCredentials(scope: String?, now: Date = Date()) async throws(OAuthError) -> OAuthTokens {
        guard registration.authMethod != .none else {
            throw .invalidSettings("the client_credentials grant needs a client secret (client_secret)")
        }
        var fields = [("grant_type", "client_credentials"), ("resource", resource)]
        if let scope, !scope.isEmpty { fields.append(("scope", scope)) }
        let json = try await tokenRequest(fields)
        return try OAuthTokens.fromTokenResponse(
            json, issuer: metadata.issuer, resource: resource, clientID: registration.clientID,
            requestedScope: scope, now: now)
    }

    // MARK: Device authorization grant (RFC 8628)

    public var supportsDeviceGrant: Bool { metadata.deviceAuthorizationEndpoint != nil }

    /// RFC 8628 §3.1: asks for a device code and a user code.
    public func startDeviceAuthorization(scope: String?, now: Date = Date()) async throws(OAuthError)
        -> DeviceAuthorization
    {
        guard let endpoint = metadata.deviceAuthorizationEndpoint else {
            throw .discoveryFailed("\(metadata.issuer) has no device_authorization_endpoint")
        }
        var fields = [("resource", resource)]
        if let scope, !scope.isEmpty { fields.append(("scope", scope)) }
        let response = try await post(endpoint, fields)
        guard response.isSuccess, let json = response.json, let deviceCode = json["device_code"]?.stringValue,
            let userCode = json["user_code"]?.stringValue, let verification = json["verification_uri"]?.stringValue
        else {
            let (error, description) = response.oauthError
            throw .tokenRequestFailed(status: response.status, error: error, description: description)
        }
        let lifetime = json["expires_in"]?.doubleValue ?? 600
        let interval = max(1, min(json["interval"]?.intValue ?? 5, 60))
        return DeviceAuthorization(
            deviceCode: deviceCode, userCode: userCode, verificationURI: verification,
            verificationURIComplete: json["verification_uri_complete"]?.stringValue,
            expiresAt: now.addingTimeInterval(min(lifetime, 3600)), interval: .seconds(interval), scope: scope)
    }

    /// RFC 8628 §3.4–3.5: polls the token endpoint every `interval` until the user approves, adding
    /// `slowDownIncrement` on each `slow_down`, until the device code expires (or `bound` passes). A poll
    /// that fails in transport (timeout, connection lost) doubles the interval, as §3.5 requires, and the
    /// polling goes on: the user may be approving right then.
    public func pollDeviceToken(
        _ device: DeviceAuthorization, slowDownIncrement: Duration = .seconds(5), bound: Duration = .seconds(900)
    ) async throws(OAuthError) -> OAuthTokens {
        var interval = device.interval
        let deadline = ContinuousClock.now + bound
        while Date() < device.expiresAt && ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: interval)
            } catch {
                throw .transport("device authorization polling cancelled")
            }
            let fields = [
                ("grant_type", DeviceAuthorization.grantType), ("device_code", device.deviceCode),
                ("resource", resource),
            ]
            let response: OAuthHTTPClient.Response
            do {
                response = try await post(try tokenEndpoint(), fields)
            } catch .transport {
                interval = min(interval * 2, .seconds(60))
                continue
            }
            if response.isSuccess {
                return try OAuthTokens.fromTokenResponse(
                    response.json, issuer: metadata.issuer, resource: resource, clientID: registration.clientID,
                    requestedScope: device.scope)
            }
            let (error, description) = response.oauthError
            switch error {
            case "authorization_pending": continue
            case "slow_down": interval += slowDownIncrement
            default: throw .tokenRequestFailed(status: response.status, error: error, description: description)
            }
        }
        throw .tokenRequestFailed(status: 400, error: "expired_token", description: "the device code expired")
    }

    // MARK: Revocation (RFC 7009)

    /// Revokes the refresh token (which ends the grant) or else the access token; best effort, errors logged.
    public func revoke(_ tokens: OAuthTokens) async {
        guard let endpoint = metadata.revocationEndpoint else { return }
        let (token, hint) =
            tokens.refreshToken.map { ($0, "refresh_token") } ?? (tokens.accessToken, "access_token")
        do {
            let response = try await post(endpoint, [("token", token), ("token_type_hint", hint)])
            if !response.isSuccess {
                logger.warning("token revocation refused", metadata: ["status": "\(response.status)"])
            }
        } catch {
            logger.warning("token revocation failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Requests

    func tokenEndpoint() throws(OAuthError) -> String {
        guard let endpoint = metadata.tokenEndpoint else {
            throw .discoveryFailed("\(metadata.issuer) has no token_endpoint")
        }
        return endpoint
    }

    /// A token endpoint request; the JSON of a 2xx answer, else `.tokenRequestFailed`.
    func tokenRequest(_ fields: [(String, String)]) async throws(OAuthError) -> JSON? {
        let response = try await post(try tokenEndpoint(), fields)
        guard response.isSuccess else {
            let (error, description) = response.oauthError
            throw .tokenRequestFailed(status: response.status, error: error, description: description)
        }
        return response.json
    }

    /// POSTs a form with the client authentication of the registration.
    func post(_ endpoint: String, _ fields: [(String, String)]) async throws(OAuthError) -> OAuthHTTPClient.Response {
        var fields = fields
        var basic: (user: String, password: String)?
        switch registration.authMethod {
        case .clientSecretBasic:
            basic = (registration.clientID, registration.clientSecret ?? "")
        case .clientSecretPost:
            fields.append(("client_id", registration.clientID))
            fields.append(("client_secret", registration.clientSecret ?? ""))
        case .none:
            fields.append(("client_id", registration.clientID))
        }
        return try await http.postForm(endpoint, fields: fields, basicAuth: basic)
    }
}
