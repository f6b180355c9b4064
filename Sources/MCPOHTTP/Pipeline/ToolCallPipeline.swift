import Logging

/// The stages of a tool call (`POST /<tool>`), in the order a call passes them on its way in; its outcome passes
/// them back in the reverse order. Routing (`ProxyResponder`) found the tool before the first.
///
/// A new stage is a type conforming to `CallStage` and one line here; no other stage changes. A server's calls pass
/// only the stages that have something to do for it (no tenant stage for a server with one URL, and so on), chosen
/// once when the server is mounted.
struct ToolCallPipeline: Sendable {
    struct Settings: Sendable {
        var credentials: CredentialCheckStore
        var address: PublicAddress
        var maxTimeout: Double
        var logger: Logger
        /// Request ids, the audit log, metrics, rate limits.
        var services: GovernanceServices
        /// JSON logs: the access log line carries its parts as fields.
        var structuredLogs = false
        /// Where binaries over `inlineBinaryLimit` go instead of data URLs.
        var files: FileStore?
        /// The open questions servers ask callers (`elicitationTimeoutSeconds`).
        var continuations = Continuations(timeout: .seconds(300))
    }

    let settings: Settings

    init(_ settings: Settings) {
        self.settings = settings
    }

    /// Who the calls come from: REST routes, or the MCP endpoint (`/mcp`), whose calls keep their result or failure
    /// for the endpoint to answer with, in a body of its own (no method, event stream or binary links of REST's).
    enum Face: Sendable {
        case rest
        case mcp
    }

    /// The stages of calls to the tools of a server with this configuration.
    func chain(for server: MountedServer.Shape, face: Face = .rest) -> CallChain {
        var stages: [any CallStage] = []
        // The call's log line: path, server/tool, status, time.
        stages.append(AccessLog(logger: settings.logger, structured: settings.structuredLogs))
        if settings.services.records { stages.append(Recording(services: settings.services)) }  // audit, metrics
        switch face {
        case .rest:
            // The outcome as the HTTP answer; every failure's status is in CallFailure+Answer.swift.
            stages.append(Answer(files: settings.files, address: settings.address))
        case .mcp:
            stages.append(MCPConclusion())  // the record of what the MCP client gets
        }
        stages.append(Authentication(credentials: settings.credentials, address: settings.address))  // who calls
        if server.multiUserOAuth { stages.append(UserSession(address: settings.address)) }  // the user's own session
        if face == .rest { stages.append(AllowedMethod()) }  // POST for tools and prompts, GET for the lists
        if server.hasToolScopes { stages.append(Authorization(credentials: settings.credentials)) }  // scopes
        // X-MCPO-Continuation: the caller's answer to the server's question, and the call's next event.
        if server.elicits { stages.append(ContinuationResume(continuations: settings.continuations)) }
        if server.rateLimited { stages.append(RateLimiting(limiter: settings.services.limiter)) }  // rateLimit
        if server.pinsBlock { stages.append(PinCheck()) }  // a changed definition waits for approval
        if server.confirms { stages.append(Confirmation()) }  // high-risk tools need "confirm": true
        if server.perTenant { stages.append(Tenancy()) }  // the tenant's own upstream session
        if server.perUser { stages.append(UserIsolation()) }  // the caller's own server process
        if server.forwardsIdentity { stages.append(IdentityForwarding()) }  // who calls, told upstream
        stages.append(CallTimeout(maxTimeout: settings.maxTimeout))  // X-MCPO-Timeout
        stages.append(ArgumentValidation())  // the body against the tool's input schema
        // Accept: text/event-stream: progress events, then the outcome (the MCP endpoint streams its own).
        if face == .rest { stages.append(EventStream(files: settings.files, address: settings.address)) }
        stages.append(Admission(logger: settings.logger))  // the server's bound on calls at once and its queue
        stages.append(UpstreamCall(logger: settings.logger, continuations: settings.continuations))  // the call
        return CallChain(stages)
    }
}
