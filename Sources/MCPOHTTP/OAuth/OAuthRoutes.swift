import Foundation
import HTTPTypes
import HummingbirdCore
import JSONValue
import MCPBridge
import MCPClient
import MCPOAuth
import NIOCore

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
    let authenticator: APIKeyAuthenticator
    let rootPath: String
    let defaultScheme: String

    private var binding: OAuthBinding { route.binding }
    private var server: String { binding.name }

    func respond(to request: Request) async -> Response {
        guard request.method == .get || request.method == .head else {
            return JSONResponse.answer(StandardAnswers.methodNotAllowed, headers: [.allow: "GET"])
        }
        let guarded = route.kind != .callback && authenticator.guards(toolRoute: false)
        if binding.multiUser {
            return await respondMultiUser(to: request, guarded: guarded)
        }
        if guarded,
            case .denied(let status, let detail, let challenge) = authenticator.check(
                authorization: request.headers[.authorization])
        {
            return ProxyResponder.denial(status: status, detail: detail, challenge: challenge)
        }
        switch route.kind {
        case .status:
            var status = await binding.manager.status()
            if case .needsAuthorization = status, binding.settings.grant != .clientCredentials,
                let prompt = try? await binding.manager.authorizationPrompt()
            {
                status = .pending(prompt)
            }
            return JSONResponse.answer(
                HTTPAnswer(status: 200, body: OAuthPages.statusBody(server: server, user: nil, status: status)))
        case .callback:
            return await complete(request, expectedUser: .none)
        case .authorize:
            return await authorize(request, user: nil, redirectURI: nil, setCookie: nil)
        }
    }

    // MARK: - Multi-user

    private func respondMultiUser(to request: Request, guarded: Bool) async -> Response {
        switch route.kind {
        case .callback:
            // The state binds the link to its user; a caller who presents a session must be that user.
            let identity = binding.identify(request, authenticator: authenticator, keyRequired: false)
            if case .user(let caller) = identity { return await complete(request, expectedUser: .some(caller.userID)) }
            return await complete(request, expectedUser: .none)
        case .status:
            switch binding.identify(request, authenticator: authenticator, keyRequired: guarded) {
            case .denied(let response):
                return response
            case .anonymous:
                let link = publicBase(request) + OAuthRoute.urlPath(server: server, kind: .authorize)
                return JSONResponse.answer(
                    HTTPAnswer(status: 401, body: ["detail": .string("Not signed in: open \(link) first")]))
            case .user(let caller):
                let status = await binding.manager.status(for: caller.userID)
                if case .authorized = status, binding.users?.snapshot == nil {
                    // The first authorized user's session lists the tools.
                    _ = try? await binding.session(for: caller.userID)?.start()
                }
                var headers = HTTPFields()
                if let cookie = binding.renewedCookie(for: caller) { headers[.setCookie] = cookie }
                return JSONResponse.answer(
                    HTTPAnswer(
                        status: 200,
                        body: OAuthPages.statusBody(server: server, user: caller.userID, status: status)),
                    headers: headers)
            }
        case .authorize:
            let redirect = callbackURL(request)
            switch binding.identify(request, authenticator: authenticator, keyRequired: guarded, lenientCookie: true) {
            case .denied(let response):
                return response
            case .user(let caller):
                return await authorize(
                    request, user: caller.userID, redirectURI: redirect, setCookie: binding.renewedCookie(for: caller))
            case .anonymous:
                // A new proxy session: the cookie identifies this browser from now on.
                guard let tokens = binding.sessionTokens else { return JSONResponse.answer(StandardAnswers.notFound) }
                let user = SessionTokens.newUserID()
                let cookie = tokens.setCookie(tokens.issueSessionToken(userID: user))
                return await authorize(request, user: user, redirectURI: redirect, setCookie: cookie)
            }
        }
    }

    // MARK: - Pieces

    private func authorize(_ request: Request, user: String?, redirectURI: String?, setCookie: String?) async
        -> Response
    {
        var headers = HTTPFields()
        if let setCookie { headers[.setCookie] = setCookie }
        let browser = request.headers[.accept]?.contains("text/html") ?? false
        let status = await binding.manager.status(for: user)
        if case .authorized = status {
            if browser {
                return Self.html(200, OAuthPages.success(server: server), headers: headers)
            }
            return JSONResponse.answer(
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
            let answer: HTTPAnswer
            if case .invalidSettings(let message) = error {
                answer = HTTPAnswer(status: 400, body: ["detail": .string(message)])
            } else {
                answer = FailureMapper.answer(for: .unavailable(server: server, reason: "OAuth: \(error)"))
            }
            return JSONResponse.answer(answer, headers: headers)
        }
        if browser {
            headers[.location] = prompt.url
            headers[.cacheControl] = "no-store"
            return Response(status: .found, headers: headers)
        }
        return JSONResponse.answer(binding.requiredAnswer(prompt), headers: headers)
    }

    private func complete(_ request: Request, expectedUser: String??) async -> Response {
        do {
            try await binding.manager.completeAuthorization(query: request.uri.query ?? "", expectedUser: expectedUser)
            return Self.html(200, OAuthPages.success(server: server))
        } catch {
            return Self.html(400, OAuthPages.failure(server: server, reason: error.description))
        }
    }

    /// The proxy's callback as the caller reached the proxy (`redirect_uri` overrides it in the manager).
    private func callbackURL(_ request: Request) -> String {
        publicBase(request) + OAuthRoute.urlPath(server: server, kind: .callback)
    }

    /// `<scheme>://<host><root path>` as the caller reached the proxy (`X-Forwarded-Proto`/`-Host` first).
    private func publicBase(_ request: Request) -> String {
        OAuthRouteHandler.publicBase(request, rootPath: rootPath, defaultScheme: defaultScheme)
    }

    static func publicBase(_ request: Request, rootPath: String, defaultScheme: String) -> String {
        func first(_ name: String) -> String? {
            guard let field = HTTPField.Name(name), let value = request.headers[field] else { return nil }
            let part = value.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
            return part?.isEmpty == false ? part : nil
        }
        let scheme = first("X-Forwarded-Proto").map { $0.lowercased() == "https" ? "https" : "http" } ?? defaultScheme
        let host = first("X-Forwarded-Host") ?? request.head.authority ?? "localhost"
        return "\(scheme)://\(host)\(rootPath)"
    }

    static func html(_ status: Int, _ page: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        let bytes = ByteBuffer(string: page)
        fields[.contentLength] = String(bytes.readableBytes)
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields, body: ResponseBody(byteBuffer: bytes))
    }
}

// MARK: - Who is calling (multi-user)

/// The caller of a multi-user server's route.
enum OAuthCaller {
    /// A verified session JWT (Open WebUI's, or the proxy's own).
    case user(SessionIdentity)
    /// No session presented (and the API key, where one is needed, was given).
    case anonymous
    /// Refused: a token that does not verify, or the API key missing or wrong.
    case denied(Response)
}

extension OAuthBinding {
    /// Who calls a multi-user route. `Authorization: Bearer` carries either the API key or a session JWT:
    /// - the API key (where one is required): the user comes from the `mcpo_session` cookie;
    /// - an Open WebUI JWT verified with `webui_secret_key`: that user, and it stands in for the API key;
    /// - the proxy's own session JWT: that user, accepted as a bearer only when no API key is required (with a
    ///   key, the session travels in the cookie and the key in `Authorization`).
    /// A token that does not verify is refused (401), never ignored. `lenientCookie`: an invalid or expired
    /// cookie counts as no session (`/authorize` then starts a new one).
    func identify(
        _ request: Request, authenticator: APIKeyAuthenticator, keyRequired: Bool, lenientCookie: Bool = false
    ) -> OAuthCaller {
        guard let tokens = sessionTokens else { return .anonymous }
        let authorization = request.headers[.authorization]
        let cookie = request.headers[.cookie]
        func fromCookie() -> OAuthCaller {
            do {
                return .user(try tokens.identify(authorization: nil, cookieHeader: cookie))
            } catch .missing {
                return .anonymous
            } catch {
                return lenientCookie ? .anonymous : .denied(Self.invalidSession(error))
            }
        }
        var keyVerdict: APIKeyAuthenticator.Verdict = .allowed
        if keyRequired {
            keyVerdict = authenticator.check(authorization: authorization)
            if keyVerdict == .allowed { return fromCookie() }
        }
        if let authorization, let bearer = SessionTokens.bearerToken(authorization) {
            do {
                let identity = try tokens.identify(authorization: authorization, cookieHeader: nil)
                if keyRequired, identity.source != .openWebUI { return .denied(ProxyResponder.denial(keyVerdict)) }
                return .user(identity)
            } catch {
                // A wrong API key is still told so; something shaped like a JWT is a session that did not verify.
                let looksLikeJWT = bearer.split(separator: ".", omittingEmptySubsequences: false).count == 3
                if keyRequired && !looksLikeJWT { return .denied(ProxyResponder.denial(keyVerdict)) }
                return .denied(Self.invalidSession(error))
            }
        }
        if keyRequired { return .denied(ProxyResponder.denial(keyVerdict)) }
        return fromCookie()
    }

    /// A fresh `Set-Cookie` for a caller identified by the proxy's own session: the session lasts
    /// `session_timeout_minutes` from the last use, not from sign-in.
    func renewedCookie(for identity: SessionIdentity) -> String? {
        guard identity.source == .proxySession, let tokens = sessionTokens else { return nil }
        return tokens.setCookie(tokens.issueSessionToken(userID: identity.userID))
    }

    static func invalidSession(_ error: SessionTokenError) -> Response {
        JSONResponse.answer(
            HTTPAnswer(status: 401, body: ["detail": .string("Invalid session token: \(error)")]),
            headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
    }

    /// 401 for a multi-user tool call without a session: where to sign in.
    func signInAnswer(authorizeURL: String) -> HTTPAnswer {
        HTTPAnswer(
            status: 401,
            body: [
                "error": "authentication_required",
                "message": .string("Sign in for \(name): [sign in](\(authorizeURL)), then retry."),
                "server": .string(name), "authorization_url": .string(authorizeURL),
            ])
    }
}
