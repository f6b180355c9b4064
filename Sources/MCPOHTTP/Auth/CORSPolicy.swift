import NIOHTTP1

/// Cross-origin rules (`--cors-allow-origins`, default `*`), compatible with mcpo's Starlette middleware.
///
/// One difference on purpose: with `*` the request's origin is echoed instead of a literal `*`, because
/// browsers refuse `*` together with `Access-Control-Allow-Credentials: true`.
struct CORSPolicy: Sendable {
    private let allowsAnyOrigin: Bool
    private let origins: Set<String>

    static let allowedMethods = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"

    init(allowOrigins: [String]) {
        self.allowsAnyOrigin = allowOrigins.contains("*")
        self.origins = Set(allowOrigins)
    }

    func allows(origin: String) -> Bool {
        allowsAnyOrigin || origins.contains(origin)
    }

    /// Headers for an ordinary (non-preflight) response.
    func decorate(_ headers: inout HTTPHeaders, origin: String?) {
        guard let origin else { return }
        headers.replaceOrAdd(name: "Vary", value: "Origin")
        guard allows(origin: origin) else { return }
        headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: origin)
        headers.replaceOrAdd(name: "Access-Control-Allow-Credentials", value: "true")
        // A browser MCP client reads its session id from the answer to `initialize`.
        headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: "Content-Disposition, Mcp-Session-Id")
    }

    /// The answer to a preflight request: status and headers.
    func preflight(origin: String, requestedHeaders: String?) -> (status: HTTPResponseStatus, headers: HTTPHeaders) {
        var headers: HTTPHeaders = [
            "Vary": "Origin", "Access-Control-Allow-Methods": Self.allowedMethods, "Access-Control-Max-Age": "600",
            "Access-Control-Allow-Credentials": "true",
        ]
        if let requestedHeaders { headers.add(name: "Access-Control-Allow-Headers", value: requestedHeaders) }
        guard allows(origin: origin) else { return (.badRequest, headers) }
        headers.add(name: "Access-Control-Allow-Origin", value: origin)
        return (.ok, headers)
    }
}
