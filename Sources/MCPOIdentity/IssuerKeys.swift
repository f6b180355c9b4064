import AsyncHTTPClient
import Foundation
import JSONValue
import Logging
import MCPOConfig
import NIOCore
import Synchronization

/// The signing keys of one issuer: its JWKS (at `jwksUri`, or where OpenID discovery at the issuer says), fetched
/// as `KeySetState` decides, one fetch at a time however many tokens wait for it. While a fetch fails, it is tried
/// again every `retryDelay` in the background, so `/readyz` sees the provider come back before a token does.
final class IssuerKeys: Sendable {
    private struct State {
        var cache = KeySetState<KeySet>()
        var fetching: Task<Void, Never>?
        var retry: Task<Void, Never>?
        var stopped = false
    }

    let settings: JWTIssuerSettings
    private let http: HTTPClient
    private let logger: Logger
    private let now: @Sendable () -> ContinuousClock.Instant
    private let retryDelay: Duration?
    private let state = Mutex(State())

    /// `now` is the clock `KeySetState` decides by (a test moves it); `retryDelay` nil: no background retries.
    init(
        settings: JWTIssuerSettings, http: HTTPClient, logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        retryDelay: Duration? = KeySetState<KeySet>.refetchInterval
    ) {
        self.settings = settings
        self.http = http
        self.logger = logger
        self.now = now
        self.retryDelay = retryDelay
    }

    /// Ends the background retries.
    func stop() {
        let retry = state.withLock { state -> Task<Void, Never>? in
            state.stopped = true
            return state.retry.take()
        }
        retry?.cancel()
    }

    /// The keys to verify a token naming `keyID` with, fetched first when they must be; or why there are none.
    func keys(for keyID: String?) async -> Result<KeySet, IdentityError> {
        // Twice at most: a token that waited for a fetch asks once more, then takes what the fetch brought.
        for _ in 0..<2 {
            let now = now()
            let (need, fetch) = state.withLock { state -> (KeySetState<KeySet>.Need, Task<Void, Never>?) in
                let known = state.cache.keys?.contains(keyID: keyID) ?? false
                let need = state.cache.need(known: known, at: now)
                switch need {
                case .fetch:
                    state.cache.fetchStarted(at: now)
                    let task = Task { await self.fetch() }
                    state.fetching = task
                    return (need, task)
                case .awaitFetch: return (need, state.fetching)
                case .use, .refuse: return (need, nil)
                }
            }
            switch need {
            case .use(let keys): return .success(keys)
            case .refuse(let reason): return .failure(.invalidToken(reason))
            case .fetch, .awaitFetch: await fetch?.value
            }
        }
        let after = state.withLock { $0.cache }
        if let keys = after.keys, keys.contains(keyID: keyID) { return .success(keys) }
        if after.keys != nil { return .failure(.invalidToken("the token names an unknown key")) }
        return .failure(.invalidToken("the identity provider's keys cannot be had: \(after.lastError ?? "unknown")"))
    }

    /// Fetches now unless a fetch is under way (at start, so `/readyz` knows early).
    func warmUp() {
        Task { _ = await keys(for: nil) }
    }

    /// For `/readyz`: `up`, or `down` with the last error.
    var health: (up: Bool, error: String?) {
        state.withLock { ($0.cache.isUp, $0.cache.lastError) }
    }

    private func fetch() async {
        let result: Result<(KeySet, Duration?), IdentityFetchFailure>
        do {
            let uri = try await jwksURI()
            let (document, cacheControl) = try await getJSON(uri)
            let keys = KeySet(document: document)
            guard !keys.isEmpty else { throw IdentityFetchFailure("\(uri) holds no keys") }
            result = .success((keys, KeySetState<KeySet>.maxAge(cacheControl: cacheControl)))
        } catch let failure as IdentityFetchFailure {
            result = .failure(failure)
        } catch {
            result = .failure(IdentityFetchFailure("\(error)"))
        }
        let now = now()
        let previousError = state.withLock { state -> String? in
            let previousError = state.cache.lastError
            switch result {
            case .success(let (keys, maxAge)):
                state.cache.fetched(keys, maxAge: maxAge, at: now)
            case .failure(let failure):
                state.cache.fetchFailed(failure.reason)
                if let retryDelay, !state.stopped, state.retry == nil {
                    // Rounds until a fetch works: a round that finds the keys tried lately (a token asked for them
                    // meanwhile, and was refused too) is refused without a fetch, and waits for the next one.
                    state.retry = Task { [weak self] in
                        while true {
                            try? await Task.sleep(for: retryDelay)
                            guard let self, !Task.isCancelled else { return }
                            _ = await self.keys(for: nil)
                            let done = self.state.withLock { state -> Bool in
                                guard state.stopped || state.cache.lastError == nil else { return false }
                                state.retry = nil
                                return true
                            }
                            if done { return }
                        }
                    }
                }
            }
            state.fetching = nil
            return previousError
        }
        switch result {
        case .success(let (keys, _)):
            logger.info("JWT issuer \(settings.issuer): \(keys.keys.count) signing keys")
        case .failure(let failure):
            // Said once while it stays the same; its tokens are refused meanwhile and /readyz shows it.
            let line: Logger.Message = "JWT issuer \(settings.issuer): its keys cannot be had: \(failure.reason)"
            if previousError == failure.reason { logger.debug(line) } else { logger.warning(line) }
        }
    }

    private func jwksURI() async throws -> String {
        if let configured = settings.jwksURI { return configured }
        let base = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
        let discovery = base + "/.well-known/openid-configuration"
        let (document, _) = try await getJSON(discovery)
        guard document["issuer"]?.stringValue == settings.issuer else {
            throw IdentityFetchFailure("\(discovery) names another issuer than \(settings.issuer)")
        }
        guard let uri = document["jwks_uri"]?.stringValue, let url = URL(string: uri),
            ["http", "https"].contains(url.scheme?.lowercased() ?? "")
        else { throw IdentityFetchFailure("\(discovery) has no http(s) jwks_uri") }
        return uri
    }

    private func getJSON(_ url: String) async throws -> (JSON, String?) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(10))
        } catch {
            throw IdentityFetchFailure("GET \(url) failed: \(error)")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw IdentityFetchFailure("GET \(url) answered \(response.status.code)") }
        guard let document = try? JSON.parse(body.readableBytesView), document.objectValue != nil else {
            throw IdentityFetchFailure("GET \(url) did not answer a JSON object")
        }
        return (document, response.headers.first(name: "Cache-Control"))
    }
}

struct IdentityFetchFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
