import JSONValue
import MCPBridge

/// RFC 9728's protected resource metadata (with JWT issuers configured): the proxy's resource, the authorization
/// servers whose tokens it takes (the issuers), and the scopes its servers' `toolScopes` name, so OAuth-aware clients
/// find the identity provider from a 401's `resource_metadata`.
enum ProtectedResourceMetadata {
    static let path = "/.well-known/oauth-protected-resource"

    static func response(base: String, issuers: [String], scopes: [String]) -> ProxyResponse {
        let body: JSON = [
            "resource": .string(base + "/"),
            "authorization_servers": .array(issuers.map(JSON.string)),
            "scopes_supported": .array(scopes.map(JSON.string)),
            "bearer_methods_supported": ["header"],
            "resource_name": "mcpo",
        ]
        return .json(HTTPAnswer(status: 200, body: body), headers: ["Cache-Control": "max-age=300"])
    }
}
