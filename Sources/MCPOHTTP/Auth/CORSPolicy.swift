import HTTPTypes

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
    func decorate(_ headers: inout HTTPFields, origin: String?) {
        guard let origin else { return }
        headers[.vary] = "Origin"
        guard allows(origin: origin) else { return }
        headers[.accessControlAllowOrigin] = origin
        headers[.accessControlAllowCredentials] = "true"
        headers[.accessControlExposeHeaders] = "Content-Disposition"
    }

    /// The answer to a preflight request: status and headers.
    func preflight(origin: String, requestedHeaders: String?) -> (status: HTTPResponse.Status, headers: HTTPFields) {
        var headers = HTTPFields()
        headers[.vary] = "Origin"
        headers[.accessControlAllowMethods] = Self.allowedMethods
        headers[.accessControlMaxAge] = "600"
        headers[.accessControlAllowCredentials] = "true"
        if let requestedHeaders { headers[.accessControlAllowHeaders] = requestedHeaders }
        guard allows(origin: origin) else { return (.badRequest, headers) }
        headers[.accessControlAllowOrigin] = origin
        return (.ok, headers)
    }
}
