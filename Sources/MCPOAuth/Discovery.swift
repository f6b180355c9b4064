import Foundation
import JSONValue
import Logging

/// RFC 9728 protected resource metadata (the fields the client uses).
public struct ProtectedResourceMetadata: Sendable, Equatable {
    public var resource: String?
    public var authorizationServers: [String]
    public var scopesSupported: [String]?
    /// Where it was fetched from.
    public var url: String

    init?(json: JSON, url: String) {
        guard let servers = json["authorization_servers"]?.arrayValue?.compactMap(\.stringValue), !servers.isEmpty
        else { return nil }
        self.resource = json["resource"]?.stringValue
        self.authorizationServers = servers
        self.scopesSupported = json["scopes_supported"]?.arrayValue?.compactMap(\.stringValue)
        self.url = url
    }
}

/// RFC 8414 / OpenID Connect Discovery authorization server metadata (the fields the client uses).
public struct AuthorizationServerMetadata: Sendable, Equatable {
    public var issuer: String
    public var authorizationEndpoint: String?
    public var tokenEndpoint: String?
    public var registrationEndpoint: String?
    public var revocationEndpoint: String?
    public var deviceAuthorizationEndpoint: String?
    public var scopesSupported: [String]?
    public var grantTypesSupported: [String]?
    public var codeChallengeMethodsSupported: [String]?
    public var tokenEndpointAuthMethodsSupported: [String]?
    /// RFC 9207 §3: the server puts `iss` in authorization responses.
    public var authorizationResponseIssParameterSupported: Bool
    /// The server accepts client ID metadata document URLs as `client_id`.
    public var clientIDMetadataDocumentSupported: Bool
    /// Where it was fetched from.
    public var url: String

    init?(json: JSON, url: String) {
        guard let issuer = json["issuer"]?.stringValue else { return nil }
        func strings(_ key: String) -> [String]? { json[key]?.arrayValue?.compactMap(\.stringValue) }
        self.issuer = issuer
        self.authorizationEndpoint = json["authorization_endpoint"]?.stringValue
        self.tokenEndpoint = json["token_endpoint"]?.stringValue
        self.registrationEndpoint = json["registration_endpoint"]?.stringValue
        self.revocationEndpoint = json["revocation_endpoint"]?.stringValue
        self.deviceAuthorizationEndpoint = json["device_authorization_endpoint"]?.stringValue
        self.scopesSupported = strings("scopes_supported")
        self.grantTypesSupported = strings("grant_types_supported")
        self.codeChallengeMethodsSupported = strings("code_challenge_methods_supported")
        self.tokenEndpointAuthMethodsSupported = strings("token_endpoint_auth_methods_supported")
        self.authorizationResponseIssParameterSupported =
            json["authorization_response_iss_parameter_supported"]?.boolValue ?? false
        self.clientIDMetadataDocumentSupported = json["client_id_metadata_document_supported"]?.boolValue ?? false
        self.url = url
    }

    /// Whether PKCE S256 is advertised. Absent `code_challenge_methods_supported` counts as unsupported
    /// (the MCP authorization spec: clients MUST refuse to proceed).
    public var supportsS256: Bool { codeChallengeMethodsSupported?.contains(PKCE.method) ?? false }
}

/// What discovery found for one protected MCP server.
public struct DiscoveryResult: Sendable, Equatable {
    /// The RFC 8707 `resource` to send on authorization and token requests.
    public var resource: String
    /// Nil when the server publishes none (the 2025-03-26 fallback: the authorization server is the
    /// server's origin).
    public var protectedResource: ProtectedResourceMetadata?
    public var authorizationServer: AuthorizationServerMetadata
    /// The challenge that started discovery, if any (its `scope` drives scope selection).
    public var challenge: AuthChallenge?
}

/// Finds the authorization server of a protected MCP server, as the MCP authorization spec orders it.
public struct OAuthDiscovery: Sendable {
    public let http: OAuthHTTPClient
    public let logger: Logger

    public init(http: OAuthHTTPClient, logger: Logger) {
        self.http = http
        self.logger = logger
    }

    /// RFC 9728 candidates: the challenge's `resource_metadata` first, then the path-suffixed well-known URI
    /// (when the server URL has a path), then the root one.
    public static func protectedResourceMetadataURLs(serverURL: String, headerURL: String?) -> [String] {
        var urls: [String] = []
        if let headerURL, HTTPURL(headerURL) != nil { urls.append(headerURL) }
        guard let server = HTTPURL(serverURL) else { return urls }
        let wellKnown = server.origin + "/.well-known/oauth-protected-resource"
        if !server.path.isEmpty && server.path != "/" {
            var path = server.path
            if path.hasSuffix("/") { path.removeLast() }
            urls.append(wellKnown + path)
        }
        urls.append(wellKnown)
        var seen = Set<String>()
        return urls.filter { seen.insert($0).inserted }
    }

    /// RFC 8414 §3.1 and OpenID Connect Discovery candidates in the MCP spec's order.
    /// With a path: OAuth path-inserted, OIDC path-inserted, OIDC path-appended; without: OAuth, then OIDC.
    public static func authorizationServerMetadataURLs(issuer: String) -> [String] {
        guard let url = HTTPURL(issuer) else { return [] }
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        let origin = "\(url.scheme)://\(url.authority)"
        if path.isEmpty {
            return [
                origin + "/.well-known/oauth-authorization-server",
                origin + "/.well-known/openid-configuration",
            ]
        }
        return [
            origin + "/.well-known/oauth-authorization-server" + path,
            origin + "/.well-known/openid-configuration" + path,
            origin + path + "/.well-known/openid-configuration",
        ]
    }

    /// Protected resource metadata for the server at `serverURL` whose `resource` covers one of
    /// `acceptedResources`, or nil when no candidate URL serves any.
    public func protectedResourceMetadata(
        serverURL: String, headerURL: String?, acceptedResources: [String]
    ) async throws(OAuthError) -> ProtectedResourceMetadata? {
        for url in Self.protectedResourceMetadataURLs(serverURL: serverURL, headerURL: headerURL) {
            let response = try await http.get(url, headers: [("MCP-Protocol-Version", OAuthHTTPClient.protocolVersion)])
            guard response.status == 200 else {
                logger.debug(
                    "no protected resource metadata", metadata: ["url": "\(url)", "status": "\(response.status)"])
                continue
            }
            guard let json = response.json, let metadata = ProtectedResourceMetadata(json: json, url: url) else {
                logger.debug("unusable protected resource metadata", metadata: ["url": "\(url)"])
                continue
            }
            if let resource = metadata.resource,
                !acceptedResources.contains(where: {
                    OAuthIdentifiers.resourceCovers(advertised: resource, requested: $0)
                })
            {
                throw .resourceMismatch(expected: acceptedResources.first ?? serverURL, advertised: resource)
            }
            return metadata
        }
        return nil
    }

    /// The metadata of the authorization server `issuer`, its `issuer` checked (RFC 8414 §3.3).
    /// A candidate answering 4xx is skipped; 5xx or a timeout stops discovery.
    public func authorizationServerMetadata(issuer: String) async throws(OAuthError) -> AuthorizationServerMetadata {
        let candidates = Self.authorizationServerMetadataURLs(issuer: issuer)
        guard !candidates.isEmpty else {
            throw .discoveryFailed("the authorization server identifier \(issuer) is not an http(s) URL")
        }
        for url in candidates {
            let response = try await http.get(url, headers: [("MCP-Protocol-Version", OAuthHTTPClient.protocolVersion)])
            if (300..<500).contains(response.status) { continue }
            guard response.status == 200 else {
                throw .discoveryFailed("\(url) answered HTTP \(response.status)")
            }
            guard let json = response.json, let metadata = AuthorizationServerMetadata(json: json, url: url) else {
                throw .discoveryFailed("\(url) is not authorization server metadata (no issuer)")
            }
            guard OAuthIdentifiers.issuersMatch(metadata.issuer, issuer) else {
                throw .issuerMismatch(expected: issuer, actual: metadata.issuer)
            }
            return metadata
        }
        throw .discoveryFailed(
            "no authorization server metadata for \(issuer) at \(candidates.joined(separator: ", "))")
    }

    /// Full discovery for the MCP server at `endpointURL` (configured as `serverURL`): protected resource
    /// metadata (from `challenge`'s `resource_metadata`, then well-known URIs), the first authorization server,
    /// its metadata. `resource` is the metadata's `resource` when present, else `serverURL` canonicalised.
    public func discover(
        serverURL: String, endpointURL: String?, challenge: AuthChallenge?
    ) async throws(OAuthError) -> DiscoveryResult {
        let probeURL = endpointURL ?? serverURL
        let accepted = [endpointURL, serverURL].compactMap { $0 }
        let protected = try await protectedResourceMetadata(
            serverURL: probeURL, headerURL: challenge?.resourceMetadata, acceptedResources: accepted)
        let issuer: String
        let resource: String
        if let protected {
            issuer = protected.authorizationServers[0]
            resource = protected.resource ?? HTTPURL(serverURL)?.canonicalResource ?? serverURL
        } else {
            guard let server = HTTPURL(serverURL) else { throw .discoveryFailed("server_url is not an http(s) URL") }
            logger.info(
                "no protected resource metadata; using the server's origin as authorization server (2025-03-26)",
                metadata: ["server_url": "\(serverURL)"])
            issuer = server.origin
            resource = server.canonicalResource
        }
        let metadata = try await authorizationServerMetadata(issuer: issuer)
        return DiscoveryResult(
            resource: resource, protectedResource: protected, authorizationServer: metadata, challenge: challenge)
    }
}
