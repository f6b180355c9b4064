/// Supplies the `Authorization` header of the requests to a remote server protected by OAuth, and hears
/// when the server refuses it. The proxy implements it over its OAuth client (one per server, or one per
/// user of a multi-user server); the transport stays free of OAuth details.
///
/// The header of the proxy's own callers is never passed on: the server sees only what this returns.
public protocol UpstreamAuthorizer: Sendable {
    /// The `Authorization` value for the next request (`Bearer <token>`), refreshed ahead of expiry; nil to
    /// send none (nothing obtained yet: the server's 401 then says where to authorize). Never starts an
    /// authorization by itself; throws `.authorizationRequired` while one waits for the user.
    func authorization() async throws(MCPClientError) -> String?

    /// After a 401 to a request sent with `failed` (nil: sent without one): a value to retry once with (another
    /// token already obtained, or a refreshed one). Throws `.authorizationRequired` (with the link) when a user
    /// must authorize again.
    func unauthorized(failed: String?, wwwAuthenticate: [String]) async throws(MCPClientError) -> String

    /// After a 403: for `insufficient_scope`, a value to retry once with (step-up); throws otherwise.
    func forbidden(failed: String?, wwwAuthenticate: [String]) async throws(MCPClientError) -> String

    /// Returns when the authorization changed (authorized, or an attempt failed) so the server can be
    /// connected again; returns at once when it is already authorized. Ends early when the task is cancelled.
    func authorizationChanged() async
}
