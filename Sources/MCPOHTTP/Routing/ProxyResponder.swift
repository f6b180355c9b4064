import Foundation
import JSONValue
import Logging
import MCPBridge
import MCPClient
import NIOCore
import NIOHTTP1

/// Answers every request: CORS, then the route from the current table. A tool route runs the call's stages
/// (`ToolCallPipeline`); documents, pages and health routes are answered here, behind the API key in strict mode.
struct ProxyResponder: RequestResponder {
    let routes: RouteTableStore
    let credentials: CredentialCheckStore
    let cors: CORSPolicy
    let address: PublicAddress
    let maxBodyBytes: Int
    /// Metrics, the audit log, pins: for `/metrics`, `/audit` and the status counter.
    var services: GovernanceServices?
    /// Large binaries of answers, served at `/files/<id>`.
    var files: FileStore?
    /// The MCP endpoint's sessions (`/mcp`), and where its questions' timeout is set.
    var mcpSessions = MCPSessions()
    var continuations: Continuations?
    /// What `/metrics` reads of the servers.
    var readings: @Sendable () -> [ProxyMetrics.ServerReading] = { [] }

    func respond(to request: ProxyRequest) async -> ProxyResponse {
        let origin = request.header("origin")
        if request.method == .OPTIONS, let origin, request.header("access-control-request-method") != nil {
            let (status, headers) = cors.preflight(
                origin: origin, requestedHeaders: request.header("access-control-request-headers"))
            return .text(status: status, status == .ok ? "OK" : "Disallowed CORS origin", headers: headers)
        }
        var response = await route(request)
        cors.decorate(&response.headers, origin: origin)
        services?.metrics?.answered(status: Int(response.status.code))
        return response
    }

    /// 413 for a request whose body is over `--max-body-size`, whatever its route (the body was not kept).
    func bodyTooLarge(_ request: ProxyRequest) -> ProxyResponse {
        var response = CallFailure.bodyTooLarge(limit: maxBodyBytes).response
        cors.decorate(&response.headers, origin: request.header("origin"))
        return response
    }

    func route(_ request: ProxyRequest, retried: Bool = false) async -> ProxyResponse {
        let path = localPath(of: request.path)
        let table = routes.table
        let check = credentials.check
        guard let endpoint = table.endpoints[path] else {
            if path.count > 1, path.hasSuffix("/"), table.endpoints[String(path.dropLast())] != nil {
                if let denial = await deny(request, check, toolRoute: false) { return denial }
                return redirect(to: String(request.path.dropLast()), query: request.query)
            }
            if path == ProtectedResourceMetadata.path, check.authenticator.hasIssuers {
                return ProtectedResourceMetadata.response(
                    base: address.base(of: request), issuers: check.authenticator.issuerNames, scopes: table.scopes)
            }
            if let server = table.unavailableServer(containing: path) {
                if let binding = server.oauth {
                    let mount = OAuthMount(server: server, binding: binding, check: check, address: address)
                    return await mount.respond(to: request, retried: retried) {
                        await self.route(request, retried: true)
                    }
                }
                if let tenants = server.tenants {
                    let mount = TenantMount(server: server, tenants: tenants, check: check, address: address)
                    return await mount.respond(to: request, retried: retried) {
                        await self.route(request, retried: true)
                    }
                }
                if let denial = await deny(request, check, toolRoute: true) { return denial }
                return Self.unavailable(server).response
            }
            if let files, path.hasPrefix(FileRoute.prefix) {
                let route = FileRoute(files: files, check: check, address: address)
                return await route.respond(to: request, id: String(path.dropFirst(FileRoute.prefix.count)))
            }
            if let denial = await deny(request, check, toolRoute: false) { return denial }
            return CallFailure.notFound.response
        }
        switch endpoint {
        case .page(let page):
            if let denial = await deny(request, check, toolRoute: false) { return denial }
            guard request.method == .GET || request.method == .HEAD else {
                return CallFailure.methodNotAllowed(allow: "GET").response
            }
            return Self.serve(page)
        case .document(let document, let version):
            guard request.method == .GET || request.method == .HEAD else {
                if let denial = await deny(request, check, toolRoute: false) { return denial }
                return CallFailure.methodNotAllowed(allow: "GET").response
            }
            // Whole to a caller without a credential (unless strict); to one with, only the tools it may call.
            let origin = address.origin(of: request)
            let compact = QueryParameters.parse(request.query).contains { $0 == ("profile", "compact") }
            guard check.authenticator.requiresCredentials,
                check.strict || request.header("authorization") != nil
            else { return Self.serve(document.page(for: nil, version: version, origin: origin, compact: compact)) }
            switch await check.authenticate(request, address: address) {
            case .success(let caller):
                return Self.serve(document.page(for: caller, version: version, origin: origin, compact: compact))
            case .failure(let failure): return failure.response
            }
        case .status(let answer):
            if let denial = await deny(request, check, toolRoute: false) { return denial }
            return .json(answer())
        case .oauth(let route):
            let handler = OAuthRouteHandler(route: route, check: check, address: address)
            return await handler.respond(to: request)
        case .governance(let route):
            guard let services else { return CallFailure.notFound.response }
            let handler = GovernanceRouteHandler(
                route: route, services: services, check: check, address: address, readings: readings)
            return await handler.respond(to: request)
        case .mcp(let mount, let transport):
            let route = MCPEndpointRoute(
                mount: mount, sessions: mcpSessions, check: check, address: address,
                questionTimeout: continuations?.timeout ?? .seconds(300))
            guard case .streamableHTTP = transport else {
                return await route.respondLegacy(to: request, transport: transport)
            }
            return await route.respond(to: request)
        case .tool(let tool):
            let outcome = await tool.server.calls(ToolCall(request: request, endpoint: tool))
            return CallOutcome.answer(for: outcome.value, operation: tool.operation)
        }
    }

    private static func serve(_ page: StaticPage) -> ProxyResponse {
        ProxyResponse(status: .ok, headers: ["Content-Type": page.contentType], body: .bytes(page.body))
    }

    /// 503 for a server that is not connected, with the reason.
    static func unavailable(_ server: MountedServer) -> CallFailure {
        let reason = server.upstream.status.lastError ?? "it has not connected yet"
        return .upstream(server: server.name, .unavailable(reason: reason))
    }

    /// The path without `--root-path`: routes answer with and without it, as mcpo's do.
    private func localPath(of rawPath: String) -> String {
        // Most paths have no escapes; decoding through Foundation costs more than routing itself.
        let path = rawPath.utf8.contains(UInt8(ascii: "%")) ? (rawPath.removingPercentEncoding ?? rawPath) : rawPath
        let rootPath = address.rootPath
        guard !rootPath.isEmpty, path.hasPrefix(rootPath) else { return path }
        let rest = String(path.dropFirst(rootPath.count))
        if rest.isEmpty { return "/" }
        return rest.hasPrefix("/") ? rest : path
    }

    /// The refusal of a route that needs the API key and did not get it (tool routes always, the others in strict
    /// mode); OPTIONS is never refused.
    private func deny(_ request: ProxyRequest, _ check: CredentialCheck, toolRoute: Bool) async -> ProxyResponse? {
        guard request.method != .OPTIONS, check.guards(toolRoute: toolRoute) else { return nil }
        guard case .failure(let failure) = await check.authenticate(request, address: address) else { return nil }
        return failure.response
    }

    private func redirect(to path: String, query: String?) -> ProxyResponse {
        let location = query.map { "\(path)?\($0)" } ?? path
        return ProxyResponse(status: .temporaryRedirect, headers: ["Location": location])
    }
}
