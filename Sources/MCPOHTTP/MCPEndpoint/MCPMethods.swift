import JSONValue
import MCPClient
import MCPOIdentity
import NIOCore
import NIOHTTP1

/// One request of a client of the MCP endpoint, with what it needs to be answered.
struct MCPRequestContext: Sendable {
    let mount: MCPMount
    /// The HTTP request that brought it: its credential and headers go with every call through the stages.
    let request: ProxyRequest
    let identity: CallerIdentity
    /// The client's session (handshake revisions); nil for 2026-07-28 requests.
    let session: MCPClientSession?
    /// Sends a message on the request's own stream (progress, a forwarded question); nil when it is answered with
    /// plain JSON.
    let emit: (@Sendable (JSON) -> Bool)?
    /// Cancels the request's calls: the client left, sent `notifications/cancelled`, or ended its session.
    let cancellation: CallCancellation
    /// How long a forwarded question waits for its answer (`elicitationTimeoutSeconds`).
    let questionTimeout: Duration
}

/// The methods of the MCP endpoint. Tools, prompts and resources are called through their REST operations' stages
/// (`ToolCallPipeline`'s MCP chain), so authentication, scopes, rate limits, pins, confirmation and the audit log
/// hold for them as for REST calls.
struct MCPMethods: Sendable {
    let context: MCPRequestContext

    func handle(_ method: String, params: JSON?) async -> Result<JSON, JSONRPCError> {
        switch method {
        case "ping", "logging/setLevel":
            return .success([:])
        case "tools/list":
            return .success(["tools": .array(context.mount.tools.filter(isVisible).map(\.listing))])
        case "tools/call":
            return await callTool(params ?? [:])
        case "prompts/list":
            return .success(["prompts": .array(context.mount.prompts.filter(isVisible).map(\.listing))])
        case "prompts/get":
            return await getPrompt(params ?? [:])
        case "resources/list":
            return await listResources(member: "resources")
        case "resources/templates/list":
            return await listResources(member: "resourceTemplates")
        case "resources/read":
            return await readResource(params ?? [:])
        default:
            return .failure(.methodNotFound(method))
        }
    }

    /// A tool or prompt the caller's scopes cover (`toolScopes`): the others are neither listed nor called.
    private func isVisible(_ entry: MCPMount.Entry) -> Bool {
        let rules = entry.endpoint.server.toolScopes
        return context.identity.scopes.missing(rules.requiredScopes(for: entry.endpoint.operation.tool.name)).isEmpty
    }

    private func callTool(_ params: JSON) async -> Result<JSON, JSONRPCError> {
        guard let name = params["name"]?.stringValue else {
            return .failure(.invalidParams("tools/call needs the tool's \"name\""))
        }
        guard let tool = context.mount.tool(named: name), isVisible(tool) else {
            return .failure(.invalidParams("Unknown tool: \(name)"))
        }
        var body = params["arguments"] ?? [:]
        guard body.objectValue != nil else {
            return .failure(.invalidParams("The \"arguments\" of tools/call are an object"))
        }
        // 2026-07-28: the call sent again with the answer to the question its last result asked.
        let continuation = params["requestState"]?.stringValue
        if continuation != nil {
            let responses = params["inputResponses"]?.objectValue ?? [:]
            body = responses[MCPCallAnswer.inputKey] ?? responses.values.first ?? ["action": "cancel"]
        }
        let outcome = await run(
            tool.endpoint, body: body, progressToken: params["_meta"]?["progressToken"], continuation: continuation)
        return MCPCallAnswer.answer(for: outcome.value)
    }

    private func getPrompt(_ params: JSON) async -> Result<JSON, JSONRPCError> {
        guard let name = params["name"]?.stringValue else {
            return .failure(.invalidParams("prompts/get needs the prompt's \"name\""))
        }
        guard let prompt = context.mount.prompt(named: name), isVisible(prompt) else {
            return .failure(.invalidParams("Unknown prompt: \(name)"))
        }
        let outcome = await run(prompt.endpoint, body: params["arguments"] ?? [:])
        return MCPCallAnswer.answer(for: outcome.value)
    }

    /// Every server's resources (or templates), in one list. One server failing leaves the others' listed, unless
    /// it is the only one.
    private func listResources(member: String) async -> Result<JSON, JSONRPCError> {
        var merged: [JSON] = []
        var lastFailure: JSONRPCError?
        for resources in context.mount.resources {
            switch MCPCallAnswer.answer(for: await run(resources.list, body: [:]).value) {
            case .success(let listing): merged += listing[member]?.arrayValue ?? []
            case .failure(let error): lastFailure = error
            }
        }
        if let lastFailure, context.mount.resources.count == 1 { return .failure(lastFailure) }
        return .success([member: .array(merged)])
    }

    /// The resource at `uri`: from the one server, or (aggregated) from the first server that has it.
    private func readResource(_ params: JSON) async -> Result<JSON, JSONRPCError> {
        guard let uri = params["uri"]?.stringValue else {
            return .failure(.invalidParams("resources/read needs the resource's \"uri\""))
        }
        var notFound = JSONRPCError(
            code: JSONRPCError.resourceNotFoundCode, message: "Resource not found: \(uri)", data: ["uri": .string(uri)])
        for resources in context.mount.resources {
            let outcome = await run(resources.read, body: ["uri": .string(uri)])
            if case .failure(.noSuchResource) = outcome.value,
                case .failure(let error) = MCPCallAnswer.answer(
                    for: outcome.value)
            {
                notFound = error
                continue
            }
            return MCPCallAnswer.answer(for: outcome.value)
        }
        return .failure(notFound)
    }

    /// One operation through the server's MCP stages, as a POST of `body` with the HTTP request's headers.
    private func run(
        _ endpoint: ToolEndpoint, body: JSON, progressToken: JSON? = nil, continuation: String? = nil
    ) async -> CallOutcome {
        var headers = context.request.headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.remove(name: ContinuationResume.header)
        if let continuation { headers.add(name: ContinuationResume.header, value: continuation) }
        let request = ProxyRequest(
            method: .POST, target: context.request.path, headers: headers, body: ByteBuffer(bytes: body.bytes),
            connection: ClientConnection(
                eventLoop: context.request.connection.eventLoop, clientLeft: context.cancellation))
        var call = ToolCall(request: request, endpoint: endpoint)
        if let progressToken, let emit = context.emit {
            call.onProgress = { progress in
                var params = progress.objectValue ?? [:]
                params["progressToken"] = progressToken
                _ = emit(JSONRPCMessage.notification("notifications/progress", .object(params)))
            }
        }
        call.onInput = questionHandler(for: endpoint.server)
        return await endpoint.server.mcpCalls(call)
    }

    /// A server that asks questions (`elicitation: true`), called in a session: its questions go to the client on
    /// the call's stream when the client declared elicitation, and are cancelled when it did not. Without a session
    /// (2026-07-28) nil: the question comes back as an `input_required` result.
    private func questionHandler(for server: MountedServer) -> RPCConnection.InputHandler? {
        guard server.entry.features.elicitation, let session = context.session else { return nil }
        guard session.elicits, let emit = context.emit else {
            return { _, _ in .result(["action": "cancel"]) }
        }
        let timeout = context.questionTimeout
        return { method, params in
            guard method == "elicitation/create" else {
                return .error(code: JSONRPCError.methodNotFoundCode, message: "The client does not answer \(method)")
            }
            let answer = await session.ask(method, params, timeout: timeout, send: emit)
            return .result(answer ?? ["action": "cancel"])
        }
    }
}
