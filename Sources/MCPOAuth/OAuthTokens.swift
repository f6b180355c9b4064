import Foundation
import JSONValue

/// Tokens for one server (and user), with their absolute expiry. `description`, `debugDescription` and the
/// reflection mirror never show the tokens themselves, so logging or dumping a value leaks nothing.
public struct OAuthTokens: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var accessToken: String
    public var tokenType: String
    public var refreshToken: String?
    /// The scope granted (the requested one when the server did not say).
    public var scope: String?
    /// Absolute expiry of the access token; nil when the server gave no `expires_in`.
    public var expiresAt: Date?
    public var obtainedAt: Date
    /// The issuer that granted the tokens, the resource they are for, and the client they were issued to:
    /// tokens are only used (and refreshed) with that same issuer, resource and client.
    public var issuer: String
    public var resource: String
    public var clientID: String

    public init(
        accessToken: String, tokenType: String = "Bearer", refreshToken: String? = nil, scope: String? = nil,
        expiresAt: Date? = nil, obtainedAt: Date = Date(), issuer: String, resource: String, clientID: String
    ) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.refreshToken = refreshToken
        self.scope = scope
        self.expiresAt = expiresAt
        self.obtainedAt = obtainedAt
        self.issuer = issuer
        self.resource = resource
        self.clientID = clientID
    }

    public var description: String {
        var text = "OAuthTokens(access_token: <redacted>, refresh_token: \(refreshToken == nil ? "none" : "<redacted>")"
        if let scope { text += ", scope: \(scope)" }
        if let expiresAt { text += ", expires_at: \(Int(expiresAt.timeIntervalSince1970))" }
        return text + ", issuer: \(issuer))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessToken": "<redacted>", "refreshToken": refreshToken == nil ? "none" : "<redacted>",
                "scope": scope as Any, "expiresAt": expiresAt as Any, "issuer": issuer, "resource": resource,
            ])
    }

    /// The margin before expiry at which the token is refreshed: 60 s, or half the lifetime for short-lived
    /// tokens (so a 4 s token is refreshed after 2 s, not at once).
    public var refreshMargin: TimeInterval {
        guard let expiresAt else { return 0 }
        return min(60, max(0, expiresAt.timeIntervalSince(obtainedAt)) / 2)
    }

    /// Whether the access token should be refreshed now (it is within `refreshMargin` of its expiry).
    public func isDue(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt.addingTimeInterval(-refreshMargin)
    }

    /// Whether the access token is past its expiry.
    public func isExpired(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    /// The scopes as a set (space separated).
    public var scopes: Set<String> { Set((scope ?? "").split(separator: " ").map(String.init)) }

    /// The stored form: `expires_at` and `obtained_at` are Unix seconds.
    public var json: JSON {
        var object: OrderedJSONObject = [
            "access_token": .string(accessToken), "token_type": .string(tokenType),
        ]
        if let refreshToken { object["refresh_token"] = .string(refreshToken) }
        if let scope { object["scope"] = .string(scope) }
        if let expiresAt { object["expires_at"] = .int(Int(expiresAt.timeIntervalSince1970.rounded())) }
        object["obtained_at"] = .int(Int(obtainedAt.timeIntervalSince1970.rounded()))
        object["issuer"] = .string(issuer)
        object["resource"] = .string(resource)
        object["client_id"] = .string(clientID)
        return .object(object)
    }

    public init?(json: JSON) {
        guard let access = json["access_token"]?.stringValue, let issuer = json["issuer"]?.stringValue,
            let resource = json["resource"]?.stringValue, let clientID = json["client_id"]?.stringValue
        else { return nil }
        self.init(
            accessToken: access, tokenType: json["token_type"]?.stringValue ?? "Bearer",
            refreshToken: json["refresh_token"]?.stringValue, scope: json["scope"]?.stringValue,
            expiresAt: json["expires_at"]?.doubleValue.map(Date.init(timeIntervalSince1970:)),
            obtainedAt: json["obtained_at"]?.doubleValue.map(Date.init(timeIntervalSince1970:)) ?? Date(),
            issuer: issuer, resource: resource, clientID: clientID)
    }

    /// Reads an RFC 6749 §5.1 token response. `previous` supplies the refresh token and scope when a refresh
    /// response omits them (RFC 6749 §6).
    static func fromTokenResponse(
        _ json: JSON?, issuer: String, resource: String, clientID: String, requestedScope: String?,
        previous: OAuthTokens? = nil, now: Date = Date()
    ) throws(OAuthError) -> OAuthTokens {
        guard let json, let access = json["access_token"]?.stringValue, !access.isEmpty else {
            throw .tokenRequestFailed(status: 200, error: "invalid_response", description: "no access_token")
        }
        let type = json["token_type"]?.stringValue ?? "Bearer"
        guard type.lowercased() == "bearer" else {
            throw .tokenRequestFailed(
                status: 200, error: "unsupported_token_type", description: "token_type \(type) (only Bearer)")
        }
        var lifetime: Double?
        if let number = json["expires_in"]?.doubleValue {
            lifetime = number
        } else if let text = json["expires_in"]?.stringValue {
            lifetime = Double(text)
        }
        return OAuthTokens(
            accessToken: access, tokenType: "Bearer",
            refreshToken: json["refresh_token"]?.stringValue ?? previous?.refreshToken,
            scope: json["scope"]?.stringValue ?? requestedScope ?? previous?.scope,
            expiresAt: lifetime.flatMap { $0.isFinite && $0 >= 0 ? now.addingTimeInterval($0) : nil },
            obtainedAt: now, issuer: issuer, resource: resource, clientID: clientID)
    }
}

/// How the client authenticates at the token endpoint.
public enum TokenEndpointAuthMethod: String, Sendable, Equatable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
    case none
}

/// A client identity at one authorization server, bound to that server's `issuer`.
public struct ClientRegistration: Sendable, Equatable, CustomStringConvertible {
    public enum Source: String, Sendable, Equatable {
        case preRegistered = "pre_registered"
        case metadataDocument = "metadata_document"
        case dynamic
    }

    public var clientID: String
    public var clientSecret: String?
    public var authMethod: TokenEndpointAuthMethod
    public var issuer: String
    public var redirectURIs: [String]
    public var grantTypes: [String]
    /// When the secret expires (RFC 7591 `client_secret_expires_at`, 0 = never → nil).
    public var secretExpiresAt: Date?
    public var source: Source

    public init(
        clientID: String, clientSecret: String?, authMethod: TokenEndpointAuthMethod, issuer: String,
        redirectURIs: [String], grantTypes: [String], secretExpiresAt: Date? = nil, source: Source
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authMethod = authMethod
        self.issuer = issuer
        self.redirectURIs = redirectURIs
        self.grantTypes = grantTypes
        self.secretExpiresAt = secretExpiresAt
        self.source = source
    }

    public var description: String {
        "ClientRegistration(client_id: \(clientID), secret: \(clientSecret == nil ? "none" : "<redacted>"), "
            + "auth: \(authMethod.rawValue), issuer: \(issuer), source: \(source.rawValue))"
    }

    public var json: JSON {
        var object: OrderedJSONObject = ["client_id": .string(clientID)]
        if let clientSecret { object["client_secret"] = .string(clientSecret) }
        object["token_endpoint_auth_method"] = .string(authMethod.rawValue)
        object["issuer"] = .string(issuer)
        object["redirect_uris"] = .array(redirectURIs.map { .string($0) })
        object["grant_types"] = .array(grantTypes.map { .string($0) })
        if let secretExpiresAt { object["client_secret_expires_at"] = .double(secretExpiresAt.timeIntervalSince1970) }
        object["source"] = .string(source.rawValue)
        return .object(object)
    }

    public init?(json: JSON) {
        guard let clientID = json["client_id"]?.stringValue, let issuer = json["issuer"]?.stringValue,
            let method = json["token_endpoint_auth_method"]?.stringValue.flatMap(TokenEndpointAuthMethod.init),
            let source = json["source"]?.stringValue.flatMap(Source.init)
        else { return nil }
        self.init(
            clientID: clientID, clientSecret: json["client_secret"]?.stringValue, authMethod: method, issuer: issuer,
            redirectURIs: json["redirect_uris"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            grantTypes: json["grant_types"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            secretExpiresAt: json["client_secret_expires_at"]?.doubleValue.map(Date.init(timeIntervalSince1970:)),
            source: source)
    }
}
