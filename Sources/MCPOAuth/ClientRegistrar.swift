import Foundation
import JSONValue
import Logging

/// Obtains this proxy's client identity at an authorization server, in the MCP spec's priority order:
/// pre-registered (`client_id` in the settings) → client ID metadata document (`client_metadata_url`, when the
/// server sets `client_id_metadata_document_supported`) → RFC 7591 dynamic registration.
/// Registrations are stored keyed by issuer and reused while they fit (same issuer, redirect URIs and grant).
public struct ClientRegistrar: Sendable {
    public let server: String
    public let settings: OAuthSettings
    public let http: OAuthHTTPClient
    public let store: any TokenStore
    public let logger: Logger

    public init(server: String, settings: OAuthSettings, http: OAuthHTTPClient, store: any TokenStore, logger: Logger) {
        self.server = server
        self.settings = settings
        self.http = http
        self.store = store
        self.logger = logger
    }

    /// The grant types the client needs for `grant`.
    static func grantTypes(for grant: OAuthGrant) -> [String] {
        switch grant {
        case .authorizationCode: ["authorization_code", "refresh_token"]
        case .deviceCode: ["authorization_code", "refresh_token", DeviceAuthorization.grantType]
        case .clientCredentials: ["client_credentials"]
        }
    }

    /// The token endpoint authentication to use: the configured one (`client_metadata.token_endpoint_auth_method`),
    /// else for a dynamic registration `client_secret_post` when advertised (mcpo's choice) and for a
    /// pre-registered client `client_secret_basic` when advertised (what RFC 6749 §2.3.1 makes every server
    /// support), else the other one, else `none`; nothing advertised means `client_secret_basic` (RFC 8414).
    /// Without a secret only `none` is possible.
    static func authMethod(
        settings: OAuthSettings, metadata: AuthorizationServerMetadata, hasSecret: Bool, preRegistered: Bool = false
    ) -> TokenEndpointAuthMethod {
        if let configured = settings.clientMetadata["token_endpoint_auth_method"]?.stringValue
            .flatMap(TokenEndpointAuthMethod.init(rawValue:))
        {
            return configured
        }
        guard hasSecret else { return .none }
        let supported = metadata.tokenEndpointAuthMethodsSupported ?? ["client_secret_basic"]
        let preference: [TokenEndpointAuthMethod] =
            preRegistered ? [.clientSecretBasic, .clientSecretPost] : [.clientSecretPost, .clientSecretBasic]
        if let method = preference.first(where: { supported.contains($0.rawValue) }) { return method }
        return supported.contains("none") ? .none : .clientSecretBasic
    }

    /// A registration for `metadata`'s issuer usable with `redirectURIs` (empty for client credentials).
    public func registration(
        for metadata: AuthorizationServerMetadata, redirectURIs: [String], scope: String?, now: Date = Date()
    ) async throws(OAuthError) -> ClientRegistration {
        let grants = Self.grantTypes(for: settings.grant)
        if let clientID = settings.clientID {
            let method = Self.authMethod(
                settings: settings, metadata: metadata, hasSecret: settings.clientSecret != nil, preRegistered: true)
            return ClientRegistration(
                clientID: clientID, clientSecret: settings.clientSecret, authMethod: method, issuer: metadata.issuer,
                redirectURIs: redirectURIs, grantTypes: grants, source: .preRegistered)
        }
        if let documentURL = settings.clientMetadataURL, metadata.clientIDMetadataDocumentSupported,
            settings.grant != .clientCredentials
        {
            logger.debug("using the client ID metadata document", metadata: ["client_id": "\(documentURL)"])
            return ClientRegistration(
                clientID: documentURL, clientSecret: nil, authMethod: .none, issuer: metadata.issuer,
                redirectURIs: redirectURIs, grantTypes: grants, source: .metadataDocument)
        }

        var stored = try await store.loadClients(server: server)
        if let existing = stored.first(where: { $0.issuer == metadata.issuer }),
            Set(redirectURIs).isSubset(of: Set(existing.redirectURIs)),
            Set(grants).isSubset(of: Set(existing.grantTypes)),
            existing.secretExpiresAt.map({ $0 > now.addingTimeInterval(60) }) ?? true
        {
            return existing
        }
        // A new registration keeps the redirect URIs the old one had (other users' hosts in multi-user mode).
        let previous = stored.first(where: { $0.issuer == metadata.issuer })?.redirectURIs ?? []
        let allRedirects = redirectURIs + previous.filter { !redirectURIs.contains($0) }
        let registration = try await register(with: metadata, redirectURIs: allRedirects, grants: grants, scope: scope)
        stored.removeAll { $0.issuer == metadata.issuer }
        stored.append(registration)
        try await store.saveClients(stored, server: server)
        return registration
    }

    /// RFC 7591 dynamic client registration.
    func register(
        with metadata: AuthorizationServerMetadata, redirectURIs: [String], grants: [String], scope: String?
    ) async throws(OAuthError) -> ClientRegistration {
        guard let endpoint = metadata.registrationEndpoint else {
            throw .registrationFailed(
                "\(metadata.issuer) offers no dynamic registration (registration_endpoint) and accepts no client "
                    + "ID metadata document here; register a client there and set oauth.client_id / client_secret")
        }
        let wanted = Self.authMethod(settings: settings, metadata: metadata, hasSecret: true)
        let body = settings.registrationMetadata(
            server: server, redirectURIs: redirectURIs, grantTypes: grants, authMethod: wanted, scope: scope)
        let response = try await http.postJSON(endpoint, body: .object(body))
        guard response.status == 200 || response.status == 201 else {
            let (error, description) = response.oauthError
            throw .registrationFailed(
                "\(endpoint) answered HTTP \(response.status) \(error)" + (description.map { ": \($0)" } ?? ""))
        }
        guard let json = response.json, let clientID = json["client_id"]?.stringValue, !clientID.isEmpty else {
            throw .registrationFailed("\(endpoint) answered without a client_id")
        }
        let secret = json["client_secret"]?.stringValue
        var method =
            json["token_endpoint_auth_method"]?.stringValue.flatMap(TokenEndpointAuthMethod.init(rawValue:)) ?? wanted
        if secret == nil { method = .none }
        let expiry = json["client_secret_expires_at"]?.doubleValue.flatMap { $0 > 0 ? $0 : nil }
        logger.info(
            "registered OAuth client", metadata: ["issuer": "\(metadata.issuer)", "client_id": "\(clientID)"])
        return ClientRegistration(
            clientID: clientID, clientSecret: secret, authMethod: method, issuer: metadata.issuer,
            redirectURIs: json["redirect_uris"]?.arrayValue?.compactMap(\.stringValue) ?? redirectURIs,
            grantTypes: json["grant_types"]?.arrayValue?.compactMap(\.stringValue) ?? grants,
            secretExpiresAt: expiry.map(Date.init(timeIntervalSince1970:)), source: .dynamic)
    }

    /// Forgets the stored registration for `issuer` (after the server refused it as `invalid_client`).
    public func forget(issuer: String) async throws(OAuthError) {
        var stored = try await store.loadClients(server: server)
        stored.removeAll { $0.issuer == issuer }
        try await store.saveClients(stored, server: server)
    }
}
