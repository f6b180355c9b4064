import Logging

/// The stages of a tool call (`POST /<tool>`), in the order a call passes them on its way in; its outcome passes
/// them back in the reverse order. Routing (`ProxyResponder`) found the tool before the first.
///
/// A new stage is a type conforming to `CallStage` and one line here; no other stage changes.
struct ToolCallPipeline: Sendable {
    struct Settings: Sendable {
        var keys: APIKeyAuthenticator
        var address: PublicAddress
        var maxTimeout: Double
        var logger: Logger
    }

    let chain: CallChain

    init(_ settings: Settings) {
        chain = CallChain([
            AccessLog(logger: settings.logger),  // the call's log line: path, server/tool, status, time
            // (recording in the audit log: to come)
            Answer(),  // the outcome as the HTTP answer; every failure's status is in CallFailure+Answer.swift
            Authentication(keys: settings.keys),  // who calls: API key, OAuth session
            // (authorization by the caller's scopes: to come)
            UserSession(address: settings.address),  // multi-user OAuth: the caller's own upstream session
            AllowedMethod(),  // POST only
            CallTimeout(maxTimeout: settings.maxTimeout),  // X-MCPO-Timeout
            ArgumentValidation(),  // the body against the tool's input schema
            // (confirmation of high-risk tools: to come)
            EventStream(),  // Accept: text/event-stream: progress events, then the outcome
            Admission(),  // the server's bound on calls at once and its queue
            UpstreamCall(logger: settings.logger),  // the call, through the MCP client
        ])
    }

    func run(_ call: ToolCall) async -> CallOutcome {
        await chain(call)
    }
}
