import JSONValue
import Logging
import MCPBridge
import MCPClient

/// The call itself, through the session chosen for it. Retries and reconnects are the MCP client's. When the HTTP
/// client goes away first, the call is cancelled upstream (a call still waiting for a slot is never sent). The
/// request's W3C trace context goes with it: as headers (which only remote servers receive) and in `_meta`.
struct UpstreamCall: CallStage {
    let logger: Logger
    /// Where the questions of servers that ask (`elicitation`) wait for their callers.
    var continuations: Continuations?

    func handle(_ call: ToolCall, next: CallChain) async -> CallOutcome {
        let cancellation = call.request.connection.clientLeft
        let arguments = call.arguments
        var request = ToolCallRequest(
            name: call.tool.name, arguments: arguments?.value ?? [:], argumentsText: arguments?.text,
            timeout: call.timeout, onProgress: call.onProgress, cancellation: cancellation,
            headers: call.forwardedHeaders)
        let trace =
            call.trace
            ?? TraceParent(
                traceparent: call.request.header("traceparent"), tracestate: call.request.header("tracestate"))
        if let trace {
            request.headers += trace.headers
            var meta = request.meta ?? OrderedJSONObject()
            meta["traceparent"] = .string(trace.traceparent)
            if let tracestate = trace.tracestate { meta["tracestate"] = .string(tracestate) }
            request.meta = meta
        }
        request.onInput = call.onInput
        let outcome: CallOutcome
        if let feature = FeatureRequest(kind: call.endpoint.operation.kind, arguments: arguments?.value ?? [:]) {
            outcome = await send(feature, as: request, server: call.server.name, upstream: call.upstream)
        } else if call.onInput == nil, let continuations, call.server.entry.features.elicitation {
            return await exchange(request, of: call, through: continuations)
        } else {
            do {
                outcome = .result(try await call.upstream.callTool(request))
            } catch {
                outcome = .failure(.upstream(server: call.server.name, error))
            }
        }
        guard cancellation.isCancelled else { return outcome }
        logger.info("the HTTP client of \(call.server.name)/\(call.tool.name) went away; the call was cancelled")
        return .failure(.clientLeft)
    }

    /// A resources or prompts request: each listing's pages merged into one object (a server without resource
    /// templates has an empty list of them), or the one request; an unknown resource is 404.
    private func send(
        _ feature: FeatureRequest, as call: ToolCallRequest, server: String, upstream: any ToolUpstream
    ) async -> CallOutcome {
        func request(_ method: String, params: JSON? = nil, listing: String? = nil) -> UpstreamRequest {
            UpstreamRequest(
                method: method, params: params, listing: listing, timeout: call.timeout,
                cancellation: call.cancellation, headers: call.headers)
        }
        switch feature.shape {
        case .listings(let listings):
            var merged = OrderedJSONObject()
            for listing in listings {
                do {
                    let page = try await upstream.send(request(listing.method, listing: listing.member))
                    merged[listing.member] = page[listing.member] ?? []
                } catch .rpc(let code, _, _) where listing.optional && code == -32601 {
                    merged[listing.member] = []
                } catch {
                    return .failure(.upstream(server: server, error))
                }
            }
            return .result(.object(merged))
        case .single(let method, var params):
            // The W3C trace context goes in `_meta` here too (it is in the headers already).
            if let meta = call.meta, !meta.isEmpty { params["_meta"] = .object(meta) }
            do {
                return .result(try await upstream.send(request(method, params: params)))
            } catch .rpc(let code, let message, _)
                where method == "resources/read" && Self.isUnknownResource(code, message)
            {
                return .failure(
                    .noSuchResource(server: server, uri: params["uri"]?.stringValue ?? "", message: message))
            } catch {
                return .failure(.upstream(server: server, error))
            }
        }
    }

    /// MCP's "resource not found" (-32002), the -32602 the 2.x Python SDK sends, and the 1.x SDK's code 0 with
    /// its "Unknown resource" message.
    static func isUnknownResource(_ code: Int, _ message: String) -> Bool {
        code == -32002 || code == -32602 || message.hasPrefix("Unknown resource")
    }

    /// A tool call of a server that may ask its caller questions: it runs on its own, so that this request can answer
    /// 409 with a question while the call waits for the answer (`CallExchange`).
    private func exchange(_ request: ToolCallRequest, of call: ToolCall, through continuations: Continuations) async
        -> CallOutcome
    {
        let exchange = CallExchange(
            owner: CallerKey.of(call.request, identity: call.caller.identity.name), continuations: continuations,
            server: call.server.name, logger: logger)
        var request = request
        let clientLeft = request.cancellation
        request.cancellation = exchange.cancellation
        request.onInput = { _, question in await exchange.ask(question) }
        let (upstream, server) = (call.upstream, call.server.name)
        Task { [request] in
            do throws(MCPClientError) {
                exchange.finish(.result(try await upstream.callTool(request)))
            } catch {
                exchange.finish(.failure(.upstream(server: server, error)))
            }
        }
        let outcome = await exchange.respond(clientLeft: clientLeft)
        if case .failure(.clientLeft) = outcome.value {
            logger.info("the HTTP client of \(server)/\(call.tool.name) went away; the call was cancelled")
        }
        return outcome
    }
}
