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

    public var description: String {
        switch self {
        case .refresh(let server, let user): "mcpo-oauth-refresh/\(server)/" + (user.map { "u:" + $0 } ?? "")
        case .registration(let server): "mcpo-oauth-registration/\(server)"
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
