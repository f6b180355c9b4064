import Foundation
import JSONValue
import MCPOConfig
import OrderedCollections

/// Where tokens and client registrations are kept.
public enum OAuthStorageType: String, Sendable, Equatable {
    /// Files under `$XDG_CONFIG_HOME/mcpo/tokens` (or `~/.config/mcpo/tokens`), mode 0600.
    case file
    /// This process only.
    case memory
}

/// How the proxy obtains tokens.
public enum OAuthGrant: String, Sendable, Equatable {
    /// A user authorizes in a browser (authorization code with PKCE S256). The default.
    case authorizationCode = "authorization_code"
    /// A user enters a code on another device (RFC 8628); falls back to the authorization code grant when
    /// the authorization server has no device authorization endpoint.
    case deviceCode = "device_code"
    /// Machine to machine: the proxy's own client credentials, no user.
    case clientCredentials = "client_credentials"
}

/// The `oauth` object of a server entry, as mcpo spells it, plus the keys this proxy adds.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `server_url` | required | the protected MCP server (its URL or origin): discovery base and RFC 8707 resource |
/// | `multi_user` | false | one upstream token per proxy user instead of one for the proxy |
/// | `storage_type` | `file` | `file` or `memory` |
/// | `callback_port` | 3030 | loopback callback `http://localhost:<port>/callback` (single user) |
/// | `use_loopback` | true | single user: redirect to the loopback listener (else to the proxy's own callback) |
/// | `session_timeout_minutes` | 30 | multi-user sessions end after this idle time |
/// | `webui_secret_key` | none | verify Open WebUI's HS256 user JWT with this key (multi-user) |
/// | `session_secret` | random | key of the proxy's own session JWT (multi-user without `webui_secret_key`) |
/// | `client_metadata` | mcpo's | merged into the dynamic registration request |
/// | `client_id`, `client_secret` | none | a pre-registered client (skips registration) |
/// | `client_metadata_url` | none | an HTTPS URL hosting this client's metadata document (CIMD) |
/// | `scope` | challenge / metadata | the scope to request, space separated |
/// | `grant` | `authorization_code` | `authorization_code`, `device_code` or `client_credentials` |
/// | `redirect_uri` | derived | the redirect URI to register and use instead of the default |
public struct OAuthSettings: Sendable, Equatable {
    public var serverURL: String
    public var multiUser: Bool
    public var storageType: OAuthStorageType
    public var callbackPort: Int
    public var useLoopback: Bool
    public var sessionTimeoutMinutes: Double
    public var webuiSecretKey: String?
    public var sessionSecret: String?
    /// `client_metadata` as written (an object), merged over the defaults at registration.
    public var clientMetadata: OrderedJSONObject
    public var clientID: String?
    public var clientSecret: String?
    public var clientMetadataURL: String?
    public var scope: String?
    public var grant: OAuthGrant
    public var redirectURI: String?
    /// Keys that were not recognised (ignored, as mcpo ignores them); worth a warning.
    public var unknownKeys: [String]

    public static let knownKeys: [String] = [
        "server_url", "multi_user", "storage_type", "callback_port", "use_loopback", "session_timeout_minutes",
        "webui_secret_key", "session_secret", "client_metadata", "client_id", "client_secret", "client_metadata_url",
        "scope", "grant", "redirect_uri",
    ]

    public init(
        serverURL: String, multiUser: Bool = false, storageType: OAuthStorageType = .file, callbackPort: Int = 3030,
        useLoopback: Bool = true, sessionTimeoutMinutes: Double = 30, webuiSecretKey: String? = nil,
        sessionSecret: String? = nil, clientMetadata: OrderedJSONObject = [:], clientID: String? = nil,
        clientSecret: String? = nil, clientMetadataURL: String? = nil, scope: String? = nil,
        grant: OAuthGrant = .authorizationCode, redirectURI: String? = nil, unknownKeys: [String] = []
    ) {
        self.serverURL = serverURL
        self.multiUser = multiUser
        self.storageType = storageType
        self.callbackPort = callbackPort
        self.useLoopback = useLoopback
        self.sessionTimeoutMinutes = sessionTimeoutMinutes
        self.webuiSecretKey = webuiSecretKey
        self.sessionSecret = sessionSecret
        self.clientMetadata = clientMetadata
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientMetadataURL = clientMetadataURL
        self.scope = scope
        self.grant = grant
        self.redirectURI = redirectURI
        self.unknownKeys = unknownKeys
    }

    /// The settings of `entry`, or nil when it has no `oauth` object.
    public static func from(entry: ServerEntry) throws(OAuthError) -> OAuthSettings? {
        guard let oauth = entry.oauth else { return nil }
        return try parse(oauth, server: entry.name)
    }

    /// Parses an `oauth` object; every error names the key.
    public static func parse(_ json: JSON, server: String) throws(OAuthError) -> OAuthSettings {
        func fail(_ key: String, _ message: String) -> OAuthError {
            .invalidSetting(server: server, key: key, message: message)
        }
        guard let object = json.objectValue else {
            throw fail("", "must be an object")
        }
        func string(_ key: String) throws(OAuthError) -> String? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let text = value.stringValue else { throw fail(key, "must be a string") }
            return text
        }
        func nonEmpty(_ key: String) throws(OAuthError) -> String? {
            guard let text = try string(key) else { return nil }
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail(key, "must not be empty") }
            return text
        }
        func bool(_ key: String, _ fallback: Bool) throws(OAuthError) -> Bool {
            guard let value = object[key], !value.isNull else { return fallback }
            guard let flag = value.boolValue else { throw fail(key, "must be true or false") }
            return flag
        }

        guard let serverURL = try nonEmpty("server_url") else {
            throw fail("server_url", "is required (the URL of the protected MCP server)")
        }
        guard let parsed = HTTPURL(serverURL), parsed.fragment == nil else {
            throw fail("server_url", "must be an absolute http(s) URL without a fragment, got '\(serverURL)'")
        }

        var storage = OAuthStorageType.file
        if let text = try string("storage_type") {
            guard let value = OAuthStorageType(rawValue: text.lowercased()) else {
                throw fail("storage_type", "must be \"file\" or \"memory\", got \"\(text)\"")
            }
            storage = value
        }

        var callbackPort = 3030
        if let value = object["callback_port"], !value.isNull {
            guard let port = value.intValue, (1...65535).contains(port) else {
                throw fail("callback_port", "must be an integer between 1 and 65535")
            }
            callbackPort = port
        }

        var timeout = 30.0
        if let value = object["session_timeout_minutes"], !value.isNull {
            guard let minutes = value.doubleValue, minutes.isFinite, minutes > 0 else {
                throw fail("session_timeout_minutes", "must be a positive number of minutes")
            }
            timeout = minutes
        }

        var metadata: OrderedJSONObject = [:]
        if let value = object["client_metadata"], !value.isNull {
            guard let members = value.objectValue else { throw fail("client_metadata", "must be an object") }
            if let uris = members["redirect_uris"], !(uris.arrayValue?.allSatisfy({ $0.stringValue != nil }) ?? false) {
                throw fail("client_metadata", "redirect_uris must be an array of strings")
            }
            if let method = members["token_endpoint_auth_method"],
                method.stringValue.flatMap(TokenEndpointAuthMethod.init(rawValue:)) == nil
            {
                throw fail(
                    "client_metadata",
                    "token_endpoint_auth_method must be client_secret_basic, client_secret_post or none")
            }
            metadata = members
        }

        var grant = OAuthGrant.authorizationCode
        if let text = try string("grant") {
            guard let value = OAuthGrant(rawValue: text.lowercased().replacingOccurrences(of: "-", with: "_")) else {
                throw fail("grant", "must be authorization_code, device_code or client_credentials, got \"\(text)\"")
            }
            grant = value
        }

        let clientID = try nonEmpty("client_id")
        let clientSecret = try nonEmpty("client_secret")
        if clientSecret != nil && clientID == nil {
            throw fail("client_secret", "needs client_id")
        }
        if grant == .clientCredentials && clientID != nil && clientSecret == nil {
            throw fail("client_secret", "is required for the client_credentials grant with a pre-registered client")
        }

        let metadataURL = try nonEmpty("client_metadata_url")
        if let metadataURL {
            guard let url = HTTPURL(metadataURL), url.scheme == "https", url.path != "/", !url.path.isEmpty else {
                throw fail("client_metadata_url", "must be an https URL with a path (the client ID metadata document)")
            }
        }

        let redirectURI = try nonEmpty("redirect_uri")
        if let redirectURI {
            guard HTTPURL(redirectURI) != nil else { throw fail("redirect_uri", "must be an absolute http(s) URL") }
        }

        let multiUser = try bool("multi_user", false)
        let webuiSecretKey = try nonEmpty("webui_secret_key")
        if grant == .clientCredentials && multiUser {
            throw fail("multi_user", "cannot be combined with grant client_credentials (there is no user)")
        }

        return OAuthSettings(
            serverURL: serverURL, multiUser: multiUser, storageType: storage, callbackPort: callbackPort,
            useLoopback: try bool("use_loopback", true), sessionTimeoutMinutes: timeout,
            webuiSecretKey: webuiSecretKey, sessionSecret: try nonEmpty("session_secret"), clientMetadata: metadata,
            clientID: clientID, clientSecret: clientSecret, clientMetadataURL: metadataURL,
            scope: try nonEmpty("scope"), grant: grant, redirectURI: redirectURI,
            unknownKeys: object.keys.filter { !knownKeys.contains($0) })
    }

    /// The loopback redirect URI, `http://localhost:<callback_port>/callback` (as mcpo registers it).
    public var loopbackRedirectURI: String { "http://localhost:\(callbackPort)/callback" }

    /// The dynamic registration request body: mcpo's defaults (`client_name` "MCPO Client for <name>",
    /// `redirect_uris`, `grant_types`, `response_types`, `token_endpoint_auth_method`), then `client_metadata`
    /// over them, with `scope` and `application_type` added when absent.
    public func registrationMetadata(
        server: String, redirectURIs: [String], grantTypes: [String], authMethod: TokenEndpointAuthMethod,
        scope: String?
    ) -> OrderedJSONObject {
        var body: OrderedJSONObject = [:]
        if !redirectURIs.isEmpty { body["redirect_uris"] = .array(redirectURIs.map { .string($0) }) }
        body["token_endpoint_auth_method"] = .string(authMethod.rawValue)
        body["grant_types"] = .array(grantTypes.map { .string($0) })
        body["response_types"] = grantTypes.contains("authorization_code") ? ["code"] : []
        if let scope { body["scope"] = .string(scope) }
        body["client_name"] = .string("MCPO Client for \(server)")
        for (key, value) in clientMetadata where key != "redirect_uris" { body[key] = value }
        // Extra redirect URIs from `client_metadata` are registered too, after the ones the proxy uses.
        let extra = (clientMetadata["redirect_uris"]?.arrayValue ?? []).compactMap(\.stringValue)
        let allRedirects = redirectURIs + extra.filter { !redirectURIs.contains($0) }
        if !allRedirects.isEmpty { body["redirect_uris"] = .array(allRedirects.map { .string($0) }) }
        if body["application_type"] == nil {
            // OIDC registration: loopback redirects are "native"; anything else is a web client.
            let native = allRedirects.allSatisfy { HTTPURL($0)?.isLoopback ?? false }
            body["application_type"] = .string(native ? "native" : "web")
        }
        return body
    }
}
