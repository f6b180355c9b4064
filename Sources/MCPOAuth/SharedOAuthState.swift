import Foundation
import JSONValue

/// OAuth state that several replicas share (a PostgreSQL store): besides the tokens and client registrations of
/// `TokenStore`, the authorization requests waiting for their callback (a flow started on one replica completes on
/// any), a lock around each refresh (a rotating refresh token is used once across replicas), and word of tokens that
/// another replica saved or deleted (so each drops what it holds in memory).
public protocol SharedOAuthState: TokenStore {
    /// Keeps `pending` until its callback takes it, or it expires.
    func savePending(_ pending: PendingAuthorization, server: String) async throws(OAuthError)
    /// The request `state` names, removed so that no replica can use it twice; nil when unknown or used.
    func takePending(state: String, server: String) async throws(OAuthError) -> PendingAuthorization?
    /// The device authorization under way for a server's user on some replica (its prompt: where to go, the code to
    /// enter), so that the others show the same one rather than start their own; nil when none is.
    func devicePrompt(server: String, user: String?) async throws(OAuthError) -> AuthorizationPrompt?
    /// Records the device authorization under way (nil: it ended).
    func saveDevicePrompt(_ prompt: AuthorizationPrompt?, server: String, user: String?) async throws(OAuthError)
    /// Runs `body` while no other replica runs a body under the same `lock` (a name: `OAuthLock`).
    func exclusively<T: Sendable>(
        _ lock: OAuthLock, _ body: @Sendable () async throws(OAuthError) -> T
    ) async throws(OAuthError) -> T
    /// Tokens another replica saved or deleted, as they are announced.
    func tokenChanges() -> AsyncStream<TokenChange>
    /// The secret of `name` all replicas use (made by the first that asks): the session signing key, say.
    func sharedSecret(named name: String) async throws(OAuthError) -> [UInt8]
}

/// What replicas do one at a time.
public enum OAuthLock: Sendable, Equatable, CustomStringConvertible {
    /// Refreshing the tokens of a server's user (nil: the server's own).
    case refresh(server: String, user: String?)
    /// Registering the proxy as a client of a server's authorization server.
    case registration(server: String)
    /// Starting a device authorization for a server's user (one code at a time, whichever replica is asked).
    case deviceAuthorization(server: String, user: String?)

    public var description: String {
        switch self {
        case .refresh(let server, let user): "mcpo-oauth-refresh/\(server)/" + (user.map { "u:" + $0 } ?? "")
        case .registration(let server): "mcpo-oauth-registration/\(server)"
        case .deviceAuthorization(let server, let user):
            "mcpo-oauth-device/\(server)/" + (user.map { "u:" + $0 } ?? "")
        }
    }
}

/// Another replica saved or deleted the tokens of a server's user (nil: the server's own).
public struct TokenChange: Sendable, Equatable {
    public var server: String
    public var user: String?

    public init(server: String, user: String?) {
        self.server = server
        self.user = user
    }

    /// Anything may have changed (the announcements were not followed for a while, or just started): every server
    /// reads what it holds again.
    public static let everything = TokenChange(server: "*", user: nil)

    public func concerns(server name: String) -> Bool { server == name || self == Self.everything }
}

extension AuthorizationPrompt {
    public var json: JSON {
        var object: OrderedJSONObject = [
            "server": .string(server), "url": .string(url), "expiresAt": .double(expiresAt.timeIntervalSince1970),
        ]
        if let user { object["user"] = .string(user) }
        if let userCode { object["userCode"] = .string(userCode) }
        return .object(object)
    }

    public init?(json: JSON) {
        guard let server = json["server"]?.stringValue, let url = json["url"]?.stringValue,
            let expires = json["expiresAt"]?.doubleValue
        else { return nil }
        self.init(
            server: server, user: json["user"]?.stringValue, url: url, userCode: json["userCode"]?.stringValue,
            expiresAt: Date(timeIntervalSince1970: expires))
    }
}

extension PendingAuthorization {
    /// Everything needed to complete the request on another replica (the PKCE verifier included: store it sealed).
    public var json: JSON {
        var object: OrderedJSONObject = [
            "state": .string(state), "verifier": .string(pkce.verifier), "issuer": .string(issuer),
            "issParameterSupported": .bool(issParameterSupported), "redirectURI": .string(redirectURI),
            "resource": .string(resource), "clientID": .string(clientID), "url": .string(url),
            "createdAt": .double(createdAt.timeIntervalSince1970),
            "expiresAt": .double(expiresAt.timeIntervalSince1970),
        ]
        if let scope { object["scope"] = .string(scope) }
        if let user { object["user"] = .string(user) }
        return .object(object)
    }

    public init?(json: JSON) {
        guard let state = json["state"]?.stringValue, let verifier = json["verifier"]?.stringValue,
            let issuer = json["issuer"]?.stringValue, let redirectURI = json["redirectURI"]?.stringValue,
            let resource = json["resource"]?.stringValue, let clientID = json["clientID"]?.stringValue,
            let url = json["url"]?.stringValue, let created = json["createdAt"]?.doubleValue,
            let expires = json["expiresAt"]?.doubleValue
        else { return nil }
        self.init(
            state: state, pkce: PKCE(verifier: verifier), issuer: issuer,
            issParameterSupported: json["issParameterSupported"]?.boolValue ?? false, redirectURI: redirectURI,
            resource: resource, scope: json["scope"]?.stringValue, clientID: clientID,
            user: json["user"]?.stringValue, url: url, createdAt: Date(timeIntervalSince1970: created),
            expiresAt: Date(timeIntervalSince1970: expires))
    }
}
