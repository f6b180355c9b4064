import Foundation
import Logging

/// Where a server (and user) stands.
public enum OAuthStatus: Sendable, Equatable {
    /// Tokens are held (possibly due for a refresh, which happens on the next use).
    case authorized(expiresAt: Date?, scope: String?)
    /// An authorization was started and waits for the user (the prompt says what to do).
    case pending(AuthorizationPrompt)
    /// No tokens and nothing started; `authorizationPrompt(for:)` starts one.
    case needsAuthorization
}

/// The OAuth client of one protected upstream server: discovery, registration, authorization (code with PKCE,
/// device code, or client credentials), token storage, refresh and step-up, for one user (single-user mode,
/// `user` nil) or many (multi-user mode, one token set per user id).
///
/// Use from a transport:
/// 1. `accessToken(for:)` before each request → `Authorization: Bearer <token>`; it refreshes ahead of
///    expiry (single flight) and throws `.authorizationRequired(prompt)` when the user must act.
/// 2. On a 401: `handleUnauthorized(for:failedToken:wwwAuthenticate:)` → a new token to retry once with
///    (refreshed), or `.authorizationRequired`.
/// 3. On a 403: `handleInsufficientScope(for:failedToken:wwwAuthenticate:)` → step-up (bounded).
/// Callbacks: the loopback listener (single user, `use_loopback`) calls `completeAuthorization` itself; the
/// proxy's `/oauth/<server>/callback` route calls `completeAuthorization(query:)`.
public actor TokenManager {
    public nonisolated let server: String
    public nonisolated let settings: OAuthSettings
    /// The MCP endpoint (the entry's `url`); discovery probes its path-suffixed well-known URI first.
    public nonisolated let endpointURL: String?
    let store: any TokenStore
    /// Replicas sharing their OAuth state: also the store of `store`.
    let shared: (any SharedOAuthState)?
    let http: OAuthHTTPClient
    let logger: Logger
    /// The proxy's own callback (`<base>/oauth/<server>/callback`) for when the loopback is not used.
    let proxyCallbackURL: String?
    /// The same, known only once the proxy listens (e.g. `--port 0`); asked when a link is made.
    let proxyCallbackURLProvider: (@Sendable () async -> String?)?
    /// How long an authorization link stays valid.
    public nonisolated let pendingLifetime: TimeInterval
    /// How many step-up authorizations are tried for the same scope set before giving up.
    public nonisolated let maxStepUpAttempts: Int
    let slowDownIncrement: Duration
    let now: @Sendable () -> Date

    private var discovery: DiscoveryResult?
    private var discoveryTask: Task<DiscoveryResult, any Error>?
    private var lastChallenge: AuthChallenge?
    private var registrations: [String: ClientRegistration] = [:]
    private var tokenCache = TokenCache<Task<OAuthTokens, any Error>>()
    private var pendingAuthorizations = PendingAuthorizations<Task<AuthorizationPrompt, any Error>>(
        capacity: TokenManager.maxPending)
    private var stepUps = StepUpAuthorizations()
    private var devicePolls = DeviceAuthorizationPolls<Task<Void, Never>>()
    /// Device authorizations another replica runs (and polls), shown here as they are.
    private var devicePromptsElsewhere: [String?: AuthorizationPrompt] = [:]
    /// The loopback listener this manager waits on (shared per port through `loopbackRegistry`).
    private let loopbackRegistry: LoopbackRegistry
    private let loopbackID = UUID()
    private var loopbackLease = LoopbackLease<Task<Void, Never>>()
    private var observers = OAuthEventFanOut()
    /// Most authorizations kept waiting at once (multi-user mode); the oldest go first.
    static let maxPending = 1000

    public init(
        server: String, settings: OAuthSettings, endpointURL: String? = nil, store: (any TokenStore)? = nil,
        shared: (any SharedOAuthState)? = nil, http: OAuthHTTPClient, proxyCallbackURL: String? = nil,
        proxyCallbackURLProvider: (@Sendable () async -> String?)? = nil, logger: Logger = Logger(label: "mcpo.oauth"),
        pendingLifetime: TimeInterval = 600, maxStepUpAttempts: Int = 2, slowDownIncrement: Duration = .seconds(5),
        loopbackRegistry: LoopbackRegistry = .shared, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.loopbackRegistry = loopbackRegistry
        self.server = server
        self.settings = settings
        self.endpointURL = endpointURL
        self.shared = shared
        self.store = shared ?? store ?? (settings.storageType == .memory ? MemoryTokenStore() : FileTokenStore())
        self.http = http
        self.proxyCallbackURL = proxyCallbackURL
        self.proxyCallbackURLProvider = proxyCallbackURLProvider
        var logger = logger
        logger[metadataKey: "server"] = "\(server)"
        self.logger = logger
        self.pendingLifetime = pendingLifetime
        self.maxStepUpAttempts = maxStepUpAttempts
        self.slowDownIncrement = slowDownIncrement
        self.now = now
    }

    // MARK: Tokens for requests

    /// A valid access token for `user` (nil in single-user mode), refreshed first when it is within its refresh
    /// margin of expiry. Throws `.authorizationRequired(prompt)` when there is none (starting an authorization).
    public func accessToken(for user: String? = nil) async throws(OAuthError) -> String {
        let user = try key(user)
        touch(user)
        if settings.grant == .clientCredentials {
            return try await clientCredentialsTokens(force: false).accessToken
        }
        guard let tokens = try await loadTokens(user) else {
            throw .authorizationRequired(try await authorizationPrompt(for: user))
        }
        guard tokens.isDue(at: now()) else { return tokens.accessToken }
        if tokens.refreshToken != nil {
            do throws(OAuthError) {
                return try await refreshed(user, tokens).accessToken
            } catch {
                guard case .transport(let message) = error, !tokens.isExpired(at: now()) else { throw error }
                logger.warning("token refresh failed; using the current token", metadata: ["error": "\(message)"])
                return tokens.accessToken
            }
        }
        guard tokens.isExpired(at: now()) else { return tokens.accessToken }
        try await dropTokens(user)
        throw .authorizationRequired(try await authorizationPrompt(for: user))
    }

    /// After the MCP server answered 401 to a request made with `failedToken` (nil if sent without one):
    /// records the challenge (its `resource_metadata` and `scope` guide discovery), then returns a token to retry
    /// with once: another one already obtained, or a refreshed one. When refreshing is impossible or fails,
    /// the tokens are dropped and `.authorizationRequired(prompt)` is thrown.
    public func handleUnauthorized(
        for user: String? = nil, failedToken: String?, wwwAuthenticate: [String]
    ) async throws(OAuthError) -> String {
        let user = try key(user)
        touch(user)
        if let challenge = AuthChallenge.bearer(in: wwwAuthenticate) { record(challenge) }
        if settings.grant == .clientCredentials {
            if let current = tokenCache.tokens(of: nil), current.accessToken != failedToken,
                !current.isExpired(at: now())
            {
                return current.accessToken
            }
            return try await clientCredentialsTokens(force: true).accessToken
        }
        let tokens = try await loadTokens(user)
        if let tokens, tokens.accessToken != failedToken, !tokens.isExpired(at: now()) {
            return tokens.accessToken
        }
        if let tokens, tokens.refreshToken != nil {
            return try await refreshed(user, tokens).accessToken
        }
        try await dropTokens(user)
        throw .authorizationRequired(try await authorizationPrompt(for: user))
    }

    /// After the MCP server answered 403: for `insufficient_scope`, step-up authorization with the union of
    /// the scopes held and the scopes challenged (client credentials: a new token at once; users: a new
    /// authorization, thrown as `.authorizationRequired`). After `maxStepUpAttempts` for the same scope set,
    /// `.insufficientScope`. Other 403s throw `.forbidden`.
    public func handleInsufficientScope(
        for user: String? = nil, failedToken: String?, wwwAuthenticate: [String]
    ) async throws(OAuthError) -> String {
        let user = try key(user)
        touch(user)
        guard let challenge = AuthChallenge.bearer(in: wwwAuthenticate), challenge.error == "insufficient_scope"
        else {
            throw .forbidden(AuthChallenge.bearer(in: wwwAuthenticate)?.errorDescription ?? "HTTP 403 from the server")
        }
        record(challenge)
        let current = try await loadTokens(user)
        let held = current?.scopes ?? []
        let challenged = Set((challenge.scope ?? "").split(separator: " ").map(String.init))
        let wanted = Self.joinScopes(held.union(challenged))
        if let current, current.accessToken != failedToken, challenged.isSubset(of: held) {
            return current.accessToken  // already stepped up meanwhile
        }
        guard let attempt = stepUps.attempt(wanted, for: user, limit: maxStepUpAttempts) else {
            throw .insufficientScope(scope: wanted)
        }
        pendingAuthorizations.withdraw(for: user)
        logger.info("step-up authorization", metadata: ["scope": "\(wanted)", "attempt": "\(attempt)"])
        if settings.grant == .clientCredentials {
            return try await clientCredentialsTokens(force: true).accessToken
        }
        throw .authorizationRequired(try await authorizationPrompt(for: user))
    }

    // MARK: Authorization

    /// The link (or device code) with which `user` authorizes: the one already waiting, else a new one
    /// (discovery and registration first; for the loopback redirect the listener is started before this
    /// returns). `redirectURI` overrides the redirect (multi-user: the proxy's callback as the browser reaches
    /// it).
    public func authorizationPrompt(for user: String? = nil, redirectURI: String? = nil) async throws(OAuthError)
        -> AuthorizationPrompt
    {
        let user = try key(user)
        touch(user)
        guard settings.grant != .clientCredentials else {
            throw .invalidSettings("grant client_credentials needs no user authorization")
        }
        pendingAuthorizations.removeExpired(now: now())
        if let prompt = devicePolls.prompt(for: user) ?? devicePromptElsewhere(for: user) { return prompt }
        if let pending = pendingAuthorizations.waiting(for: user, unexpiredAt: now().addingTimeInterval(30)),
            redirectURI == nil || pending.redirectURI == redirectURI
        {
            return prompt(for: pending)
        }
        let making = pendingAuthorizations.make(for: user) {
            Task { try await self.makePrompt(for: user, redirectURI: redirectURI) }
        }
        guard case .started(let task) = making else { return try await value(of: making.work) }
        defer { pendingAuthorizations.makingEnded(for: user) }
        return try await value(of: task)
    }

    private func makePrompt(for user: String?, redirectURI requested: String?) async throws(OAuthError)
        -> AuthorizationPrompt
    {
        let found = try await discovered()
        let metadata = found.authorizationServer
        let scope = chooseScope(found, user: user)
        if settings.grant == .deviceCode {
            if metadata.deviceAuthorizationEndpoint != nil {
                guard let shared else { return try await startDevice(for: user, found: found, scope: scope) }
                // One device authorization at a time across replicas: the one under way elsewhere, else a new one.
                return try await shared.exclusively(.deviceAuthorization(server: server, user: user)) {
                    () async throws(OAuthError) -> AuthorizationPrompt in
                    try await self.deviceAuthorizationOnce(for: user, found: found, scope: scope, shared: shared)
                }
            }
            logger.warning("the authorization server has no device authorization endpoint; using the browser flow")
        }
        guard metadata.supportsS256 else { throw .pkceUnsupported(issuer: metadata.issuer) }
        let redirect = try await redirectURI(for: user, requested: requested)
        let flow = try await makeFlow(found, redirectURIs: [redirect], scope: scope)
        let pending = try flow.start(
            redirectURI: redirect, scope: scope, user: user, lifetime: pendingLifetime, now: now())
        if usesLoopback(redirect) { await startLoopback() }
        pendingAuthorizations.add(pending)
        if let shared {
            do {
                try await shared.savePending(pending, server: server)
            } catch {
                logger.warning("the authorization request is kept here only: \(error)")
            }
        }
        let prompt = prompt(for: pending)
        if settings.multiUser {
            logger.debug("authorization link made", metadata: ["user": "\(Self.shortUser(user))"])
        } else {
            logger.info("OAuth authorization needed: open \(prompt.url)")
        }
        return prompt
    }

    /// Completes an authorization from the callback's query string (or whole URL); see
    /// `completeAuthorization(_:expectedUser:)`.
    @discardableResult
    public func completeAuthorization(query: String, expectedUser: String?? = .none) async throws(OAuthError)
        -> String?
    {
        try await completeAuthorization(try AuthorizationCallback(query: query), expectedUser: expectedUser)
    }

    /// Completes an authorization: finds the request by `state` (single use, unexpired), checks `iss`
    /// (RFC 9207) and `error`, redeems the code and stores the tokens. Returns the user it was for.
    /// `expectedUser` (when given) must be that user: the proxy passes the caller's session user so a link
    /// started by one user cannot be completed into another's session.
    @discardableResult
    public func completeAuthorization(_ callback: AuthorizationCallback, expectedUser: String?? = .none)
        async throws(OAuthError) -> String?
    {
        guard let state = callback.state, let pending = try await takePending(state: state) else {
            throw .invalidCallback("unknown or already used state; start the authorization again")
        }
        do {
            guard pending.expiresAt > now() else { throw OAuthError.invalidCallback("the authorization expired") }
            if case .some(let expected) = expectedUser, expected != pending.user {
                throw OAuthError.invalidCallback("the authorization was started by another user")
            }
            let code = try AuthorizationFlow.code(from: callback, for: pending)
            let found = try await discovered()
            guard
                let registration = try await registration(
                    clientID: pending.clientID, metadata: found.authorizationServer)
            else { throw OAuthError.invalidCallback("the client registration changed; start again") }
            let flow = AuthorizationFlow(
                http: http, metadata: found.authorizationServer, registration: registration,
                resource: pending.resource, logger: logger)
            let tokens = try await flow.exchange(code: code, pending: pending, now: now())
            try await keep(tokens, for: pending.user)
            stepUps.granted(tokens.scopes, to: pending.user)
            logger.info("OAuth authorization complete", metadata: ["user": "\(Self.shortUser(pending.user))"])
            emit(.authorized(user: pending.user))
            await stopLoopbackIfIdle()
            return pending.user
        } catch let error as OAuthError {
            logger.warning("OAuth authorization failed", metadata: ["error": "\(error)"])
            emit(.authorizationFailed(user: pending.user, reason: error.description))
            await stopLoopbackIfIdle()
            throw error
        } catch {
            throw .transport("\(error)")
        }
    }

    /// The request `state` names, used once across replicas: the shared store decides when it answers (a request
    /// this replica holds but the store no longer does was completed elsewhere); unreachable, this replica's own.
    private func takePending(state: String) async throws(OAuthError) -> PendingAuthorization? {
        let held = pendingAuthorizations.take(state: state)
        guard let shared else { return held }
        do {
            return try await shared.takePending(state: state, server: server)
        } catch {
            logger.warning("the shared store cannot be read; completing from this replica's requests: \(error)")
            return held
        }
    }

    /// Another replica saved or deleted `user`'s tokens: what this one holds is read again, and a user who now has
    /// tokens is announced as authorized (sessions waiting for them go on).
    public func tokensChangedElsewhere(user: String?) async {
        guard tokenCache.isLoaded(user) || !settings.multiUser else { return }
        tokenCache.forget(user)
        devicePromptsElsewhere[user] = nil
        guard let tokens = try? await loadTokens(user) else { return }
        if tokens.refreshToken != nil || !tokens.isExpired(at: now()) { emit(.authorized(user: user)) }
    }

    /// Anything may have changed elsewhere: every user this replica knows (the proxy itself in single-user mode) is
    /// read again.
    public func tokensChangedElsewhere() async {
        let users: [String?] = settings.multiUser ? tokenCache.knownUsers : [nil]
        for user in users { await tokensChangedElsewhere(user: user) }
    }

    /// Where `user` stands (no network traffic).
    public func status(for user: String? = nil) async -> OAuthStatus {
        let who: String?
        do {
            who = try key(user)
        } catch {
            return .needsAuthorization
        }
        if let prompt = devicePolls.prompt(for: who) ?? devicePromptElsewhere(for: who) { return .pending(prompt) }
        if let tokens = try? await loadTokens(who),
            settings.grant == .clientCredentials || !tokens.isExpired(at: now()) || tokens.refreshToken != nil
        {
            return .authorized(expiresAt: tokens.expiresAt, scope: tokens.scope)
        }
        if let pending = pendingAuthorizations.waiting(for: who, unexpiredAt: now()) {
            return .pending(prompt(for: pending))
        }
        return .needsAuthorization
    }

    /// Revokes (best effort) and forgets `user`'s tokens.
    public func signOut(user: String? = nil) async throws(OAuthError) {
        let user = try key(user)
        if let tokens = try await loadTokens(user), let found = discovery,
            let registration = try? await registration(clientID: tokens.clientID, metadata: found.authorizationServer)
        {
            let flow = AuthorizationFlow(
                http: http, metadata: found.authorizationServer, registration: registration, resource: tokens.resource,
                logger: logger)
            await flow.revoke(tokens)
        }
        try await dropTokens(user)
        emit(.signedOut(user: user))
    }

    /// Multi-user: ends the sessions idle for longer than `session_timeout_minutes` (their in-memory state,
    /// waiting authorizations and device polls; with memory storage their tokens too). Returns their ids so
    /// the proxy can close their upstream sessions.
    public func expireIdleSessions() async -> [String] {
        guard settings.multiUser else { return [] }
        let limit = now().addingTimeInterval(-settings.sessionTimeoutMinutes * 60)
        let expired = tokenCache.idleUsers(before: limit).filter { !pendingAuthorizations.isMaking(for: $0) }
        for user in expired {
            devicePolls.remove(for: user)?.cancel()
            tokenCache.forget(user)
            pendingAuthorizations.forget(user)
            stepUps.forget(user)
            if settings.storageType == .memory { try? await store.deleteTokens(server: server, user: user) }
            emit(.sessionExpired(user: user))
        }
        return expired.sorted()
    }

    /// Events (authorized, failed, signed out, session expired) from now on.
    public func events() -> AsyncStream<OAuthEvent> {
        let (stream, continuation) = AsyncStream<OAuthEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id = observers.add(continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeObserver(id) }
        }
        return stream
    }

    /// Stops the loopback listener and device polls, ends event streams.
    public func shutdown() async {
        let lease = loopbackLease.end()
        lease.stopTimer?.cancel()
        if lease.detach {
            await loopbackRegistry.detach(port: settings.callbackPort, id: loopbackID)
        }
        for poll in devicePolls.polls { poll.cancel() }
        observers.finishAll()
    }

    /// The port of the loopback listener while this manager waits on it.
    public var loopbackPort: Int? { loopbackLease.isAttached ? settings.callbackPort : nil }

    // MARK: Discovery and registration

    private func record(_ challenge: AuthChallenge) {
        if let url = challenge.resourceMetadata, let known = discovery?.protectedResource?.url, url != known {
            logger.info("the server names another resource metadata URL; discovering again")
            discovery = nil
        }
        lastChallenge = challenge
    }

    private func discovered() async throws(OAuthError) -> DiscoveryResult {
        if let discovery { return discovery }
        if let task = discoveryTask { return try await value(of: task) }
        let probe = OAuthDiscovery(http: http, logger: logger)
        let serverURL = settings.serverURL
        let endpoint = endpointURL
        let challenge = lastChallenge
        let task = Task { () async throws -> DiscoveryResult in
            try await probe.discover(serverURL: serverURL, endpointURL: endpoint, challenge: challenge)
        }
        discoveryTask = task
        defer { discoveryTask = nil }
        let result = try await value(of: task)
        discovery = result
        logger.debug(
            "discovered the authorization server",
            metadata: ["issuer": "\(result.authorizationServer.issuer)", "resource": "\(result.resource)"])
        return result
    }

    private func makeFlow(_ found: DiscoveryResult, redirectURIs: [String], scope: String?) async throws(OAuthError)
        -> AuthorizationFlow
    {
        let metadata = found.authorizationServer
        let registrar = ClientRegistrar(server: server, settings: settings, http: http, store: store, logger: logger)
        let now = now()
        let registration: ClientRegistration
        if let shared {
            // Replicas starting together register one client, not one each (the store keeps one per issuer).
            registration = try await shared.exclusively(.registration(server: server)) {
                () async throws(OAuthError) -> ClientRegistration in
                try await registrar.registration(for: metadata, redirectURIs: redirectURIs, scope: scope, now: now)
            }
        } else {
            registration = try await registrar.registration(
                for: metadata, redirectURIs: redirectURIs, scope: scope, now: now)
        }
        registrations[registration.clientID] = registration
        return AuthorizationFlow(
            http: http, metadata: metadata, registration: registration, resource: found.resource, logger: logger)
    }

    /// The registration with `clientID` at this issuer (to redeem or refresh what it obtained), if still known.
    private func registration(clientID: String, metadata: AuthorizationServerMetadata) async throws(OAuthError)
        -> ClientRegistration?
    {
        if let known = registrations[clientID], known.issuer == metadata.issuer { return known }
        let registrar = ClientRegistrar(server: server, settings: settings, http: http, store: store, logger: logger)
        if settings.clientID == clientID || settings.clientMetadataURL == clientID {
            let registration = try await registrar.registration(for: metadata, redirectURIs: [], scope: nil, now: now())
            return registration.clientID == clientID ? registration : nil
        }
        let stored = try await store.loadClients(server: server)
        return stored.first { $0.clientID == clientID && $0.issuer == metadata.issuer }
    }

    /// Scope choice, as the MCP spec orders it: the configured `scope`; else the challenge's `scope`; else the
    /// protected resource's `scopes_supported`; else none. `offline_access` is added when the authorization
    /// server lists it (so it issues a refresh token), and a pending step-up adds its scopes.
    private func chooseScope(_ found: DiscoveryResult, user: String?) -> String? {
        var scopes: [String] = []
        if let configured = settings.scope {
            scopes = configured.split(separator: " ").map(String.init)
        } else {
            if let challenged = lastChallenge?.scope ?? found.challenge?.scope {
                scopes = challenged.split(separator: " ").map(String.init)
            } else if let supported = found.protectedResource?.scopesSupported {
                scopes = supported
            }
            if !scopes.isEmpty, settings.grant != .clientCredentials,
                found.authorizationServer.scopesSupported?.contains("offline_access") ?? false
            {
                scopes.append("offline_access")
            }
        }
        if let stepUp = stepUps.scope(for: user) {
            scopes += stepUp.split(separator: " ").map(String.init)
        }
        var seen = Set<String>()
        let unique = scopes.filter { seen.insert($0).inserted }
        return unique.isEmpty ? nil : unique.joined(separator: " ")
    }

    static func joinScopes(_ scopes: Set<String>) -> String { scopes.sorted().joined(separator: " ") }

    private func redirectURI(for user: String?, requested: String?) async throws(OAuthError) -> String {
        if let configured = settings.redirectURI { return configured }
        if !settings.multiUser && settings.useLoopback { return settings.loopbackRedirectURI }
        if let requested { return requested }
        if let proxyCallbackURL { return proxyCallbackURL }
        if let provided = await proxyCallbackURLProvider?() { return provided }
        throw .invalidSettings(
            "no redirect URI: set oauth.redirect_uri (the proxy's /oauth/\(server)/callback as browsers reach it)")
    }

    private func usesLoopback(_ redirect: String) -> Bool {
        !settings.multiUser && settings.useLoopback && redirect == settings.loopbackRedirectURI
    }

    // MARK: Token state

    private func key(_ user: String?) throws(OAuthError) -> String? {
        guard settings.multiUser else { return nil }
        guard let user, !user.isEmpty else { throw .invalidSettings("a multi-user server needs the caller's user id") }
        return user
    }

    private func touch(_ user: String?) {
        tokenCache.touch(user, now: now())
    }

    private func loadTokens(_ user: String?) async throws(OAuthError) -> OAuthTokens? {
        if tokenCache.isLoaded(user) { return tokenCache.tokens(of: user) }
        var tokens = try await store.loadTokens(server: server, user: user)
        if let loaded = tokens, !tokenFitsServer(loaded) {
            logger.info("stored tokens are for another resource; ignoring them")
            tokens = nil
        }
        tokenCache.hold(tokens, for: user, now: now())
        return tokens
    }

    private func tokenFitsServer(_ tokens: OAuthTokens) -> Bool {
        let requested = [endpointURL, settings.serverURL].compactMap { $0 }
        return requested.contains { OAuthIdentifiers.resourceCovers(advertised: tokens.resource, requested: $0) }
            || HTTPURL(settings.serverURL)?.canonicalResource == tokens.resource
    }

    private func keep(_ tokens: OAuthTokens, for user: String?) async throws(OAuthError) {
        try await store.saveTokens(tokens, server: server, user: user)
        tokenCache.hold(tokens, for: user, now: now())
    }

    private func dropTokens(_ user: String?) async throws(OAuthError) {
        tokenCache.drop(user)
        try await store.deleteTokens(server: server, user: user)
    }

    /// Refreshes `tokens` once for all concurrent callers (the first one's task does the work; the slot is taken
    /// before any suspension). A refusal by the authorization server drops the tokens and throws
    /// `.authorizationRequired`; an unreachable server throws `.transport`.
    private func refreshed(_ user: String?, _ tokens: OAuthTokens) async throws(OAuthError) -> OAuthTokens {
        let refresh = tokenCache.refresh(for: user, now: now()) {
            Task { () async throws -> OAuthTokens in try await self.performRefresh(user, tokens) }
        }
        guard case .started(let task) = refresh else { return try await value(of: refresh.work) }
        defer { tokenCache.refreshEnded(for: user) }
        return try await value(of: task)
    }

    private func performRefresh(_ user: String?, _ tokens: OAuthTokens) async throws(OAuthError) -> OAuthTokens {
        guard let shared else { return try await refreshHere(user, tokens) }
        return try await shared.exclusively(.refresh(server: server, user: user)) {
            () async throws(OAuthError) -> OAuthTokens in
            try await self.refreshUnlessRefreshedElsewhere(user, tokens)
        }
    }

    /// Under the replicas' lock: another replica may have refreshed (or dropped) the tokens while this one waited;
    /// then its result is taken, and the refresh token this one holds (used up by rotation) is never sent.
    private func refreshUnlessRefreshedElsewhere(_ user: String?, _ tokens: OAuthTokens) async throws(OAuthError)
        -> OAuthTokens
    {
        let stored = try await store.loadTokens(server: server, user: user)
        guard let stored else {
            tokenCache.drop(user)
            throw .authorizationRequired(try await authorizationPrompt(for: user))
        }
        if stored.accessToken != tokens.accessToken, !stored.isDue(at: now()) {
            tokenCache.hold(stored, for: user, now: now())
            logger.debug("access token refreshed by another replica")
            return stored
        }
        return try await refreshHere(user, stored)
    }

    private func refreshHere(_ user: String?, _ tokens: OAuthTokens) async throws(OAuthError) -> OAuthTokens {
        let found = try await discovered()
        guard let registration = try await registration(clientID: tokens.clientID, metadata: found.authorizationServer),
            tokens.issuer == found.authorizationServer.issuer
        else {
            logger.info("the tokens' client or issuer changed; authorization needed")
            try await dropTokens(user)
            throw .authorizationRequired(try await authorizationPrompt(for: user))
        }
        let flow = AuthorizationFlow(
            http: http, metadata: found.authorizationServer, registration: registration, resource: tokens.resource,
            logger: logger)
        do throws(OAuthError) {
            let fresh = try await flow.refresh(tokens, now: now())
            try await keep(fresh, for: user)
            logger.debug("access token refreshed")
            emit(.tokenRefreshed(user: user, succeeded: true))
            return fresh
        } catch {
            emit(.tokenRefreshed(user: user, succeeded: false))
            guard case .tokenRequestFailed(let status, let code, _) = error else { throw error }
            logger.info(
                "token refresh refused; authorization needed", metadata: ["status": "\(status)", "error": "\(code)"])
            if code == "invalid_client" {
                try? await ClientRegistrar(server: server, settings: settings, http: http, store: store, logger: logger)
                    .forget(issuer: found.authorizationServer.issuer)
                registrations[tokens.clientID] = nil
            }
            try await dropTokens(user)
            throw .authorizationRequired(try await authorizationPrompt(for: user))
        }
    }

    /// A client credentials token: the held one unless `force` or due, else a new one (single flight).
    private func clientCredentialsTokens(force: Bool) async throws(OAuthError) -> OAuthTokens {
        let refresh = tokenCache.refresh(for: nil, now: now()) {
            Task { () async throws -> OAuthTokens in try await self.fetchClientCredentials(force: force) }
        }
        guard case .started(let task) = refresh else { return try await value(of: refresh.work) }
        defer { tokenCache.refreshEnded(for: nil) }
        return try await value(of: task)
    }

    private func fetchClientCredentials(force: Bool) async throws(OAuthError) -> OAuthTokens {
        if !force, let tokens = try await loadTokens(nil), !tokens.isDue(at: now()) { return tokens }
        let found = try await discovered()
        let scope = chooseScope(found, user: nil)
        let flow = try await makeFlow(found, redirectURIs: [], scope: scope)
        let tokens = try await flow.clientCredentials(scope: scope, now: now())
        try await keep(tokens, for: nil)
        stepUps.settled(for: nil)
        return tokens
    }

    // MARK: Device authorization

    private func startDevice(for user: String?, found: DiscoveryResult, scope: String?) async throws(OAuthError)
        -> AuthorizationPrompt
    {
        let flow = try await makeFlow(found, redirectURIs: [settings.loopbackRedirectURI], scope: scope)
        let device = try await flow.startDeviceAuthorization(scope: scope, now: now())
        let prompt = AuthorizationPrompt(
            server: server, user: user, url: device.verificationURIComplete ?? device.verificationURI,
            userCode: device.userCode, expiresAt: device.expiresAt)
        let increment = slowDownIncrement
        let task = Task { [weak self] in
            do {
                let tokens = try await flow.pollDeviceToken(device, slowDownIncrement: increment)
                await self?.deviceFinished(user: user, result: .success(tokens))
            } catch let error as OAuthError {
                await self?.deviceFinished(user: user, result: .failure(error))
            } catch {
                await self?.deviceFinished(user: user, result: .failure(.transport("\(error)")))
            }
        }
        devicePolls.started(task, prompt: prompt, for: user)
        if settings.multiUser {
            logger.debug("device authorization started", metadata: ["user": "\(Self.shortUser(user))"])
        } else {
            logger.info(
                "OAuth device authorization needed: open \(device.verificationURI) and enter \(device.userCode)")
        }
        return prompt
    }

    private func deviceAuthorizationOnce(
        for user: String?, found: DiscoveryResult, scope: String?, shared: any SharedOAuthState
    ) async throws(OAuthError) -> AuthorizationPrompt {
        if let elsewhere = try await shared.devicePrompt(server: server, user: user), elsewhere.expiresAt > now() {
            devicePromptsElsewhere[user] = elsewhere
            return elsewhere
        }
        let prompt = try await startDevice(for: user, found: found, scope: scope)
        try await shared.saveDevicePrompt(prompt, server: server, user: user)
        return prompt
    }

    /// The device authorization another replica runs for `user`, while it lasts.
    private func devicePromptElsewhere(for user: String?) -> AuthorizationPrompt? {
        guard let prompt = devicePromptsElsewhere[user] else { return nil }
        guard prompt.expiresAt > now() else {
            devicePromptsElsewhere[user] = nil
            return nil
        }
        return prompt
    }

    private func deviceFinished(user: String?, result: Result<OAuthTokens, OAuthError>) async {
        // The tokens are kept before the authorization is said to be over: in between, a caller (or this replica's
        // reconnect) would find neither a prompt nor tokens and start a new device authorization.
        var outcome = result
        if case .success(let tokens) = result {
            do {
                try await keep(tokens, for: user)
            } catch {
                outcome = .failure(error)
            }
        }
        devicePolls.ended(for: user)
        if let shared {
            do {
                try await shared.saveDevicePrompt(nil, server: server, user: user)
            } catch {
                logger.debug("the device authorization's end is not recorded in the store: \(error)")
            }
        }
        switch outcome {
        case .success:
            logger.info("OAuth device authorization complete", metadata: ["user": "\(Self.shortUser(user))"])
            emit(.authorized(user: user))
        case .failure(let error):
            logger.warning("OAuth device authorization failed", metadata: ["error": "\(error)"])
            emit(.authorizationFailed(user: user, reason: error.description))
        }
    }

    // MARK: Loopback listener

    private func startLoopback() async {
        let linkMade = loopbackLease.linkMade(stopTimer: loopbackStopTimer())
        linkMade.replacedTimer?.cancel()
        guard linkMade.attach else { return }
        let client = LoopbackRegistry.Client(
            owns: { [weak self] state in await self?.owns(state: state) ?? false },
            handle: { [weak self] query in
                guard let self else {
                    return .init(status: 503, html: OAuthPages.failure(server: nil, reason: "the proxy is stopping"))
                }
                return await self.loopbackCallback(query: query)
            })
        do {
            try await loopbackRegistry.attach(
                port: settings.callbackPort, id: loopbackID, client: client, logger: logger)
            loopbackLease.attached()
            logger.info("OAuth callback listening on \(settings.loopbackRedirectURI)")
        } catch {
            let port = settings.callbackPort
            let route = "/oauth/\(server)/callback"
            logger.error("cannot listen for the OAuth callback on port \(port): \(error); \(route) still accepts it")
        }
    }

    private func owns(state: String) -> Bool { pendingAuthorizations.owns(state: state) }

    private func loopbackCallback(query: String) async -> LoopbackCallbackServer.Reply {
        do {
            try await completeAuthorization(query: query)
            return .init(status: 200, html: OAuthPages.success(server: server))
        } catch {
            return .init(status: 400, html: OAuthPages.failure(server: server, reason: error.description))
        }
    }

    /// Leaves the listener once no loopback authorization is waiting; checked after each callback and when the
    /// last link expires.
    private func stopLoopbackIfIdle() async {
        pendingAuthorizations.removeExpired(now: now())
        let waiting = pendingAuthorizations.contains { usesLoopback($0.redirectURI) }
        guard case .leave(let stopTimer) = loopbackLease.checkIdle(loopbackLinksWaiting: waiting) else { return }
        stopTimer?.cancel()
        await loopbackRegistry.detach(port: settings.callbackPort, id: loopbackID)
        logger.debug("OAuth callback listener left")
    }

    /// Checks again a little after the link just made expired, as nobody may ever come back with it.
    private func loopbackStopTimer() -> Task<Void, Never> {
        let delay = pendingLifetime + 1
        return Task { [weak self] in
            try? await Task.sleep(for: .seconds(delay))
            guard !Task.isCancelled else { return }
            await self?.stopLoopbackIfIdle()
        }
    }

    // MARK: Helpers

    private func prompt(for pending: PendingAuthorization) -> AuthorizationPrompt {
        AuthorizationPrompt(server: server, user: pending.user, url: pending.url, expiresAt: pending.expiresAt)
    }

    private func emit(_ event: OAuthEvent) {
        observers.emit(event)
    }

    private func removeObserver(_ id: UUID) { observers.remove(id) }

    private func value<T>(of task: Task<T, any Error>) async throws(OAuthError) -> T {
        do {
            return try await task.value
        } catch let error as OAuthError {
            throw error
        } catch {
            throw .transport("\(error)")
        }
    }

    /// A user id shortened for logs (the first 8 characters, as mcpo's status does).
    static func shortUser(_ user: String?) -> String {
        guard let user else { return "-" }
        return user.count > 8 ? String(user.prefix(8)) + "…" : user
    }
}
