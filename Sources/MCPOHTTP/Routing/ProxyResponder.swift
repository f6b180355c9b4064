import Foundation
import HTTPTypes
import HummingbirdCore
import JSONValue
import Logging
import MCPBridge
import MCPClient
import MCPOAuth
import NIOCore

/// Answers every request: CORS, then the API key, then the route from the current table.
struct ProxyResponder: Sendable {
    let routes: RouteTableStore
    let authenticator: APIKeyAuthenticator
    let cors: CORSPolicy
    let rootPath: String
    let maxBodyBytes: Int
    let maxTimeout: Double
    /// `https` when the proxy serves TLS: the scheme of links to the proxy's own routes (OAuth callbacks).
    var defaultScheme = "http"
    let logger: Logger

    func respond(to request: Request, connection: ClientConnection) async -> Response {
        let origin = request.headers[.origin]
        if request.method == .options, let origin, request.headers[.accessControlRequestMethod] != nil {
            let (status, headers) = cors.preflight(
                origin: origin, requestedHeaders: request.headers[.accessControlRequestHeaders])
            let text = status == .ok ? "OK" : "Disallowed CORS origin"
            return Response(
                status: status, headers: headers.merging([.contentType: "text/plain; charset=utf-8"]),
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        var response = await route(request, connection: connection)
        cors.decorate(&response.headers, origin: origin)
        return response
    }

    /// 413 for a request whose body is over `--max-body-size`, whatever its route (the body was not kept).
    func bodyTooLarge(_ request: Request) -> Response {
        var response = JSONResponse.answer(StandardAnswers.bodyTooLarge(limit: maxBodyBytes))
        cors.decorate(&response.headers, origin: request.headers[.origin])
        return response
    }

    private func route(_ request: Request, connection: ClientConnection, again: Bool = false) async -> Response {
        let path = localPath(of: request.uri.path)
        let table = routes.table
        guard let endpoint = table.endpoints[path] else {
            if path.count > 1, path.hasSuffix("/"), table.endpoints[String(path.dropLast())] != nil {
                if let denial = deny(request, toolRoute: false) { return denial }
                return redirect(to: String(request.uri.path.dropLast()), query: request.uri.query)
            }
            if let server = table.unavailableServer(containing: path) {
                if let binding = server.oauth {
                    return await unavailableOAuthServer(server, binding, request, connection: connection, again: again)
                }
                if let denial = deny(request, toolRoute: true) { return denial }
                let reason = server.upstream.status.lastError ?? "it has not connected yet"
                return JSONResponse.answer(
                    FailureMapper.answer(for: .unavailable(server: server.name, reason: reason)))
            }
            if let denial = deny(request, toolRoute: false) { return denial }
            return JSONResponse.answer(StandardAnswers.notFound)
        }
        switch endpoint {
        case .page(let page):
            if let denial = deny(request, toolRoute: false) { return denial }
            guard request.method == .get || request.method == .head else {
                return JSONResponse.answer(StandardAnswers.methodNotAllowed, headers: [.allow: "GET"])
            }
            let body = request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: page.body)
            var headers: HTTPFields = [.contentType: page.contentType]
            headers[.contentLength] = String(page.body.readableBytes)
            return Response(status: .ok, headers: headers, body: body)
        case .status(let answer):
            if let denial = deny(request, toolRoute: false) { return denial }
            return JSONResponse.answer(answer())
        case .oauth(let route):
            let handler = OAuthRouteHandler(
                route: route, authenticator: authenticator, rootPath: rootPath, defaultScheme: defaultScheme)
            return await handler.respond(to: request)
        case .tool(let tool):
            var upstream = tool.server.upstream
            var renewedCookie: String?
            if let binding = tool.server.oauth, binding.multiUser {
                switch await userSession(binding, request) {
                case .failure(let refusal):
                    return refusal.response
                case .success(let caller):
                    upstream = caller.session
                    renewedCookie = binding.renewedCookie(for: caller.identity)
                }
            } else if let denial = deny(request, toolRoute: true) {
                return denial
            }
            guard request.method == .post else {
                return JSONResponse.answer(StandardAnswers.methodNotAllowed, headers: [.allow: "POST"])
            }
            let handler = ToolCallHandler(
                endpoint: tool, upstream: upstream, maxBodyBytes: maxBodyBytes, maxTimeout: maxTimeout, logger: logger)
            var response = await handler.handle(request, connection: connection)
            if let renewedCookie { response.headers[.setCookie] = renewedCookie }
            return response
        }
    }

    private struct Refusal: Error {
        let response: Response
    }

    private struct UserCall {
        let session: UpstreamServer
        let identity: SessionIdentity
    }

    /// Multi-user: the caller's own upstream session, or why there is none (no or invalid session: 401; not
    /// authorized upstream yet: 401 with the caller's link).
    private func userSession(_ binding: OAuthBinding, _ request: Request) async -> Result<UserCall, Refusal> {
        switch binding.identify(
            request, authenticator: authenticator, keyRequired: authenticator.guards(toolRoute: true))
        {
        case .denied(let response):
            return .failure(Refusal(response: response))
        case .anonymous:
            let base = OAuthRouteHandler.publicBase(request, rootPath: rootPath, defaultScheme: defaultScheme)
            let link = base + OAuthRoute.urlPath(server: binding.name, kind: .authorize)
            return .failure(Refusal(response: JSONResponse.answer(binding.signInAnswer(authorizeURL: link))))
        case .user(let caller):
            let base = OAuthRouteHandler.publicBase(request, rootPath: rootPath, defaultScheme: defaultScheme)
            let callback = base + OAuthRoute.urlPath(server: binding.name, kind: .callback)
            if let answer = await binding.authorizationAnswer(for: caller.userID, redirectURI: callback) {
                return .failure(Refusal(response: JSONResponse.answer(answer)))
            }
            guard let session = binding.session(for: caller.userID) else {
                return .failure(
                    Refusal(
                        response: JSONResponse.answer(
                            FailureMapper.answer(
                                for: .unavailable(server: binding.name, reason: "the proxy is shutting down")))))
            }
            return .success(UserCall(session: session, identity: caller))
        }
    }

    /// A path under an OAuth server that has no tools yet: 401 with the link while the proxy (or the caller) is
    /// not authorized; a multi-user server whose caller is authorized gets the caller's session started (it lists
    /// the tools) and the request routed again.
    private func unavailableOAuthServer(
        _ server: MountedServer, _ binding: OAuthBinding, _ request: Request, connection: ClientConnection, again: Bool
    ) async -> Response {
        let reason = server.upstream.status.lastError ?? "it has not connected yet"
        let unavailable = JSONResponse.answer(
            FailureMapper.answer(for: .unavailable(server: server.name, reason: reason)))
        guard binding.multiUser else {
            if let denial = deny(request, toolRoute: true) { return denial }
            if let answer = await binding.authorizationAnswer(for: nil, redirectURI: nil) {
                return JSONResponse.answer(answer)
            }
            return unavailable
        }
        switch await userSession(binding, request) {
        case .failure(let refusal):
            return refusal.response
        case .success(let caller):
            guard !again else { return unavailable }
            do {
                try await caller.session.start()
            } catch {
                return JSONResponse.answer(
                    FailureMapper.answer(for: ToolCallHandler.failure(error, server: server.name)))
            }
            return await route(request, connection: connection, again: true)
        }
    }

    /// The path without `--root-path`: routes answer with and without it, as mcpo's do.
    private func localPath(of rawPath: String) -> String {
        // Most paths have no escapes; decoding through Foundation costs more than routing itself.
        let path = rawPath.utf8.contains(UInt8(ascii: "%")) ? (rawPath.removingPercentEncoding ?? rawPath) : rawPath
        guard !rootPath.isEmpty, path.hasPrefix(rootPath) else { return path }
        let rest = String(path.dropFirst(rootPath.count))
        if rest.isEmpty { return "/" }
        return rest.hasPrefix("/") ? rest : path
    }

    private func deny(_ request: Request, toolRoute: Bool) -> Response? {
        guard request.method != .options, authenticator.guards(toolRoute: toolRoute) else { return nil }
        switch authenticator.check(authorization: request.headers[.authorization]) {
        case .allowed:
            return nil
        case .denied(let status, let detail, let challenge):
            return Self.denial(status: status, detail: detail, challenge: challenge)
        }
    }

    static func denial(status: Int, detail: String, challenge: String?) -> Response {
        var headers = HTTPFields()
        if let challenge { headers[.wwwAuthenticate] = challenge }
        return JSONResponse.answer(HTTPAnswer(status: status, body: ["detail": .string(detail)]), headers: headers)
    }

    static func denial(_ verdict: APIKeyAuthenticator.Verdict) -> Response {
        switch verdict {
        case .allowed: denial(status: 401, detail: "Missing or invalid Authorization header", challenge: "Bearer")
        case .denied(let status, let detail, let challenge):
            denial(status: status, detail: detail, challenge: challenge)
        }
    }

    private func redirect(to path: String, query: String?) -> Response {
        let location = query.map { "\(path)?\($0)" } ?? path
        return Response(status: .temporaryRedirect, headers: [.location: location])
    }
}

/// JSON bodies for answers.
enum JSONResponse {
    static func answer(_ answer: HTTPAnswer, headers: HTTPFields = [:]) -> Response {
        json(status: answer.status, bytes: answer.body.bytes, headers: headers)
    }

    static func json(status: Int, bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(bytes.count)
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension HTTPFields {
    fileprivate func merging(_ other: HTTPFields) -> HTTPFields {
        var result = self
        for field in other { result[field.name] = field.value }
        return result
    }
}
