import Foundation
import JSONValue
import MCPBridge
import MCPClient
import MCPOAuth
import MCPOIdentity
import NIOCore
import NIOHTTP1

/// `/oauth/<server>/status`, `/oauth/<server>/callback` and `/oauth/<server>/authorize` of one OAuth server.
struct OAuthRoute: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case status
        case callback
        case authorize
    }

    let kind: Kind
    let binding: OAuthBinding

    /// `/oauth/<server>/<kind>` (the server name as is: request paths are matched decoded).
    static func path(server: String, kind: Kind) -> String { "/oauth/\(server)/\(kind.rawValue)" }

    /// The same, percent-encoded for a URL.
    static func urlPath(server: String, kind: Kind) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        let encoded = server.addingPercentEncoding(withAllowedCharacters: allowed) ?? server
        return "/oauth/\(encoded)/\(kind.rawValue)"
    }
}

/// Answers the OAuth routes.
///
/// Access: the callback is always public (a browser cannot send the API key; it is protected by its single-use
/// `state`). Status and authorize follow the documents' rule: public unless `--strict-auth`, which asks for the
/// key there too (for a multi-user server an Open WebUI token verified with `webui_secret_key` does instead).
struct OAuthRouteHandler {
    let route: OAuthRoute
    let check: CredentialCheck
    let address: PublicAddress

    private var binding: OAuthBinding { route.binding }
    private var server: String { binding.name }

    func respond(to request: ProxyRequest) async -> ProxyResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return CallFailure.methodNotAllowed(allow: "GET").response
        }
        let guarded = route.kind != .callback && check.guards(toolRoute: false)
        if binding.multiUser {
            return await respondMultiUser(to: request, guarded: guarded)
        }
        if guarded, case .failure(let failure) = await check.authenticate(request, address: address) {
            return failure.response
        }
        switch route.kind {
        case .status:
            var status = await binding.manager.status()
            if case .needsAuthorization = status, binding.settings.grant != .clientCredentials,
                let prompt = try? await binding.manager.authorizationPrompt()
            {
                status = .pending(prompt)
            }
            return .json(
                HTTPAnswer(status: 200, body: OAuthPages.statusBody(server: server, user: nil, status: status)))
        case .callback:
            return await complete(request, expectedUser: .none)
        case .authorize:
            return await authorize(request, user: nil, redirectURI: nil, setCookie: nil)
        }
    }

    // MARK: - Multi-user

    private func respondMultiUser(to request: ProxyRequest, guarded: Bool) async -> ProxyResponse {
        switch route.kind {
        case .callback:
            // The state binds the link to its user; a caller who presents a session must be that user.
            let identity = await binding.identify(request, check: check, address: address, keyRequired: false)
            if case .user(_, let session) = identity {
                return await complete(request, expectedUser: .some(session.userID))
            }
            return await complete(request, expectedUser: .none)
        case .status:
            switch await binding.identify(request, check: check, address: address, keyRequired: guarded) {
            case .denied(let failure):
                return failure.response
            case .anonymous:
                let link = address.base(of: request) + OAuthRoute.urlPath(server: server, kind: .authorize)
                return .json(HTTPAnswer(status: 401, body: ["detail": .string("Not signed in: open \(link) first")]))
            case .user(_, let caller):
                let status = await binding.manager.status(for: caller.userID)
                if case .authorized = status, binding.users?.snapshot == nil {
                    // The first authorized user's session lists the tools.
                    _ = try? await binding.session(for: caller.userID)?.start()
                }
                var headers = HTTPHeaders()
                if let cookie = binding.renewedCookie(for: caller) { headers.add(name: "Set-Cookie", value: cookie) }
                return .json(
                    HTTPAnswer(
                        status: 200, body: OAuthPages.statusBody(server: server, user: caller.userID, status: status)),
                    headers: headers)
            }
        case .authorize:
            let redirect = callbackURL(request)
            switch await binding.identify(
                request, check: check, address: address, keyRequired: guarded, lenientCookie: true)
            {
            case .denied(let failure):
                return failure.response
            case .user(_, let caller):
                return await authorize(
                    request, user: caller.userID, redirectURI: redirect, setCookie: binding.renewedCookie(for: caller))
            case .anonymous:
                // A new proxy session: the cookie identifies this browser from now on.
                guard let tokens = binding.sessionTokens else { return CallFailure.notFound.response }
                let user = SessionTokens.newUserID()
                let cookie = tokens.setCookie(tokens.issueSessionToken(userID: user))
                return await authorize(request, user: user, redirectURI: redirect, setCookie: cookie)
            }
        }
    }

    // MARK: - Pieces

    private func authorize(_ request: ProxyRequest, user: String?, redirectURI: String?, setCookie: String?) async
        -> ProxyResponse
    {
        var headers = HTTPHeaders()
        if let setCookie { headers.add(name: "Set-Cookie", value: setCookie) }
        let browser = request.header("accept")?.contains("text/html") ?? false
        let status = await binding.manager.status(for: user)
        if case .authorized = status {
            if browser {
                return .html(status: 200, OAuthPages.success(server: server), headers: headers)
            }
            return .json(
                HTTPAnswer(status: 200, body: OAuthPages.statusBody(server: server, user: user, status: status)),
                headers: headers)
        }
        let prompt: AuthorizationPrompt
        do {
            if case .pending(let waiting) = status {
                prompt = waiting
            } else {
                prompt = try await binding.manager.authorizationPrompt(for: user, redirectURI: redirectURI)
            }
        } catch {
            let failure: CallFailure
            if case .invalidSettings(let message) = error {
                failure = .badRequest(detail: message)
            } else {
                failure = .upstream(server: server, .unavailable(reason: "OAuth: \(error)"))
            }
            return .json(failure.answer, headers: headers)
        }
        if browser {
            headers.add(name: "Location", value: prompt.url)
            headers.add(name: "Cache-Control", value: "no-store")
            return ProxyResponse(status: .found, headers: headers)
        }
        return .json(binding.required(prompt).answer, headers: headers)
    }

    private func complete(_ request: ProxyRequest, expectedUser: String??) async -> ProxyResponse {
        do {
            try await binding.manager.completeAuthorization(query: request.query ?? "", expectedUser: expectedUser)
            return .html(status: 200, OAuthPages.success(server: server))
        } catch {
            return .html(status: 400, OAuthPages.failure(server: server, reason: error.description))
        }
    }

    /// The proxy's callback as the caller reached the proxy (`redirect_uri` overrides it in the manager).
    private func callbackURL(_ request: ProxyRequest) -> String {
        address.base(of: request) + OAuthRoute.urlPath(server: server, kind: .callback)
    }
}

// MARK: - Who is calling (multi-user)

/// The caller of a multi-user server's route.
enum OAuthCaller {
    /// A verified session JWT (Open WebUI's, or the proxy's own), with what the credential beside it proves.
    case user(CallerIdentity, SessionIdentity)
    /// No session presented (and the credential, where one is needed, was given).
    case anonymous(CallerIdentity)
    /// Refused: a token that does not verify, or the credential missing or wrong.
    case denied(CallFailure)
}

extension OAuthBinding {
    /// Who calls a multi-user route. `Authorization: Bearer` carries either the credential or a session JWT:
    /// - the credential (where one is required): the user comes from the `mcpo_session` cookie;
    /// - an Open WebUI JWT verified with `webui_secret_key`: that user, and it stands in for the credential;
    /// - the proxy's own session JWT: that user, accepted as a bearer only when no credential is required (with one,
    ///   the session travels in the cookie and the credential in `Authorization`).
    /// A token that does not verify is refused (401), never ignored. `lenientCookie`: an invalid or expired
    /// cookie counts as no session (`/authorize` then starts a new one).
    func identify(
        _ request: ProxyRequest, check: CredentialCheck, address: PublicAddress, keyRequired: Bool,
        lenientCookie: Bool = false
    ) async -> OAuthCaller {
        guard let tokens = sessionTokens else { return .anonymous(.anonymous) }
        let authorization = request.header("authorization")
        let cookie = request.header("cookie")
        func user(_ base: CallerIdentity, _ session: SessionIdentity) -> OAuthCaller {
            var identity = base
            identity.user = session.userID
            return .user(identity, session)
        }
        func fromCookie(_ base: CallerIdentity) -> OAuthCaller {
            do {
                return user(base, try tokens.identify(authorization: nil, cookieHeader: cookie))
            } catch .invalidSessionToken(.missing) {
                return .anonymous(base)
            } catch {
                return lenientCookie ? .anonymous(base) : .denied(.invalidSession(detail: "\(error)"))
            }
        }
        var keyFailure: CallFailure?
        if keyRequired {
            switch await check.authenticate(request, address: address) {
            case .success(let identity): return fromCookie(identity)
            case .failure(let failure): keyFailure = failure
            }
        }
        if let authorization, let bearer = SessionTokens.bearerToken(authorization) {
            do {
                let session = try tokens.identify(authorization: authorization, cookieHeader: nil)
                if let keyFailure, session.source != .openWebUI { return .denied(keyFailure) }
                return user(.anonymous, session)
            } catch {
                // A wrong API key is still told so; something shaped like a JWT is a session that did not verify.
                let looksLikeJWT = bearer.split(separator: ".", omittingEmptySubsequences: false).count == 3
                if let keyFailure, !looksLikeJWT { return .denied(keyFailure) }
                return .denied(.invalidSession(detail: "\(error)"))
            }
        }
        if let keyFailure { return .denied(keyFailure) }
        return fromCookie(.anonymous)
    }

    /// A fresh `Set-Cookie` for a caller identified by the proxy's own session: the session lasts
    /// `session_timeout_minutes` from the last use, not from sign-in.
    func renewedCookie(for identity: SessionIdentity) -> String? {
        guard identity.source == .proxySession, let tokens = sessionTokens else { return nil }
        return tokens.setCookie(tokens.issueSessionToken(userID: identity.userID))
    }
}
