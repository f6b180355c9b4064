import Foundation
import JSONValue
import Logging
import MCPBridge
import MCPClient
import MCPOAuth
import Synchronization

/// One server entry with an `oauth` object: its `TokenManager` (one per entry), and in multi-user mode the
/// session tokens that identify users and the pool of their upstream sessions.
///
/// Single user: the server's one upstream session authenticates with the manager's tokens; while nobody has
/// authorized, it waits (no retries) and its tools answer 401 with the link. Multi-user: every user gets an
/// upstream session with their own tokens; idle users are ended after `session_timeout_minutes`.
final class OAuthBinding: Sendable {
    let name: String
    let manager: TokenManager
    /// Multi-user only: verifies Open WebUI's user JWT and the proxy's own session JWT.
    let sessionTokens: SessionTokens?
    /// Multi-user only: one upstream session per user.
    let users: UserSessions?
    private let makeUpstream: @Sendable (any UpstreamAuthorizer) -> any ToolUpstream
    private let logger: Logger
    /// Where token refreshes are counted (`mcpo_oauth_refreshes_total`), when metrics are kept.
    let metrics: ProxyMetrics?
    /// Single user: the last link handed out, and whether the proxy waits for an authorization (set when a
    /// link is handed out, cleared when the manager reports the proxy authorized).
    private let lastPrompt = Mutex<(prompt: AuthorizationPrompt?, waiting: Bool)>((nil, false))
    private let tasks = Mutex<[Task<Void, Never>]>([])
    /// Replicas sharing their OAuth state: tokens another replica saved or deleted are read again here.
    private let shared: (any SharedOAuthState)?

    var settings: OAuthSettings { manager.settings }
    var multiUser: Bool { settings.multiUser }

    /// - Parameters:
    ///   - endpointURL: the entry's `url` (discovery probes its path-suffixed well-known URI first).
    ///   - callbackURL: the proxy's own `/oauth/<name>/callback`, known once the proxy listens.
    ///   - makeUpstream: a new upstream session of this entry authenticating with the given authorizer.
    init(
        name: String, settings: OAuthSettings, endpointURL: String, http: OAuthHTTPClient,
        callbackURL: @escaping @Sendable () async -> String?, logger: Logger, metrics: ProxyMetrics? = nil,
        shared: (state: (any SharedOAuthState)?, sessionKey: [UInt8]?) = (nil, nil),
        makeUpstream: @escaping @Sendable (any UpstreamAuthorizer) -> any ToolUpstream
    ) {
        self.name = name
        self.metrics = metrics
        self.shared = shared.state
        self.manager = TokenManager(
            server: name, settings: settings, endpointURL: endpointURL, shared: shared.state, http: http,
            proxyCallbackURLProvider: callbackURL, logger: logger)
        self.sessionTokens =
            settings.multiUser ? SessionTokens(settings: settings, sharedKey: shared.sessionKey) : nil
        self.users = settings.multiUser ? UserSessions() : nil
        self.makeUpstream = makeUpstream
        self.logger = logger
    }

    /// The authorizer of the single-user session (or of `user`'s session).
    func authorizer(for user: String? = nil) -> ManagedAuthorizer {
        ManagedAuthorizer(binding: self, user: user)
    }

    /// Multi-user: `user`'s upstream session (made on first use). Nil once stopped.
    func session(for user: String) -> (any ToolUpstream)? {
        users?.upstream(for: user) { makeUpstream(authorizer(for: user)) }
    }

    /// Starts following the manager's events (a user who authorizes gets their session at once, so the tools
    /// appear) and, in multi-user mode, the timer that ends idle sessions.
    func start() {
        let manager = self.manager
        let listener = Task { [weak self] in
            for await event in await manager.events() {
                guard let self else { return }
                if case .tokenRefreshed(_, let succeeded) = event {
                    self.metrics?.oauthRefresh(server: self.name, succeeded: succeeded)
                    continue
                }
                guard case .authorized(let user) = event else { continue }
                if let user {
                    Task { _ = try? await self.session(for: user)?.start() }
                } else {
                    self.lastPrompt.withLock { $0 = (nil, false) }
                }
            }
        }
        var started = [listener]
        if let shared {
            let name = self.name
            started.append(
                Task {
                    for await change in shared.tokenChanges() where change.concerns(server: name) {
                        if change == .everything {
                            await manager.tokensChangedElsewhere()
                        } else {
                            await manager.tokensChangedElsewhere(user: change.user)
                        }
                    }
                })
        }
        if multiUser {
            // Often enough that a session ends soon after its timeout, at most once a minute.
            let interval = min(60, max(1, settings.sessionTimeoutMinutes * 60 / 4))
            started.append(
                Task { [weak self] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                        guard let self, !Task.isCancelled else { return }
                        let expired = await self.manager.expireIdleSessions()
                        guard !expired.isEmpty else { continue }
                        await self.users?.end(expired)
                        self.logger.info("[\(self.name)] ended \(expired.count) idle OAuth user session(s)")
                    }
                })
        }
        tasks.withLock { $0 += started }
    }

    /// Stops the timers, every user session, the loopback listener and device polls.
    func shutdown() async {
        let running = tasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in running { task.cancel() }
        await users?.shutdownAll()
        await manager.shutdown()
    }

    // MARK: - Answers

    /// Single user: whether the proxy waits for an authorization (its tools answer 401), and the link handed out
    /// last while it is valid (for `/readyz`).
    var awaitedAuthorization: (waiting: Bool, url: String?) {
        lastPrompt.withLock { last in
            guard let prompt = last.prompt, prompt.expiresAt > Date() else { return (last.waiting, nil) }
            return (last.waiting, prompt.url)
        }
    }

    private func remember(_ prompt: AuthorizationPrompt) {
        if prompt.user == nil { lastPrompt.withLock { $0 = (prompt, true) } }
    }

    /// Why a request of `user` (nil: the single user) cannot be made: it has no usable token, so a user must authorize
    /// at the link (the one waiting, else a new one with `redirectURI`); nil when authorized. An authorization server
    /// that cannot be reached makes the server unavailable.
    func authorizationFailure(for user: String?, redirectURI: String?) async -> CallFailure? {
        let status = await manager.status(for: user)
        if case .authorized = status { return nil }
        if settings.grant == .clientCredentials { return nil }
        if case .pending(let prompt) = status { return required(prompt) }
        do {
            return required(try await manager.authorizationPrompt(for: user, redirectURI: redirectURI))
        } catch {
            return .upstream(server: name, .unavailable(reason: "OAuth: \(error)"))
        }
    }

    /// The failure that hands out `prompt` (remembered for `/readyz`).
    func required(_ prompt: AuthorizationPrompt) -> CallFailure {
        remember(prompt)
        return .authorizationRequired(server: name, link: Self.link(prompt))
    }

    static func link(_ prompt: AuthorizationPrompt) -> AuthorizationLink {
        AuthorizationLink(url: prompt.url, userCode: prompt.userCode, expiresAt: prompt.expiresAt)
    }

    /// An OAuth failure as the MCP client reports it: a link to open is `.authorizationRequired`, a refusal
    /// after step-up `.forbidden`, anything else (authorization server unreachable, bad metadata) `.unavailable`.
    func clientError(_ error: OAuthError) -> MCPClientError {
        switch error {
        case .authorizationRequired(let prompt):
            remember(prompt)
            return .authorizationRequired(Self.link(prompt))
        case .insufficientScope, .forbidden:
            return .forbidden(reason: error.description)
        default:
            return .unavailable(reason: "OAuth: \(error)")
        }
    }
}
