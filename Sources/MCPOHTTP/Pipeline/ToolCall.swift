import JSONValue
import MCPBridge
import MCPClient
import NIOCore
import NIOHTTP1

/// One tool call on its way through the stages: the request, the tool routing found for it, and what the stages
/// have found out so far.
struct ToolCall: Sendable {
    let request: ProxyRequest
    let endpoint: ToolEndpoint
    /// Who calls, once authentication has said.
    var caller = Caller.anonymous
    /// The session that runs the call: the server's own, or (multi-user OAuth) the caller's.
    var upstream: any ToolUpstream
    /// The bound of the call: the tool's, the server's, `--timeout`, or what `X-MCPO-Timeout` asks for.
    var timeout: Double
    /// The arguments, once validated.
    var arguments: ArgumentValidator.CheckedArguments?
    /// Where the call's `notifications/progress` go (an event stream), if anywhere.
    var onProgress: RPCConnection.ProgressHandler?
    /// Where the server's questions during the call go (the MCP endpoint's client); nil: the REST round trip.
    var onInput: RPCConnection.InputHandler?
    /// Headers sent upstream with the call (the caller's identity, where the server's entry asks for it).
    var forwardedHeaders: [(name: String, value: String)] = []
    /// The body the arguments are read from (the request's, without the proxy's confirmation field).
    var body: ByteBuffer
    /// The call's record in the making (audit log, metrics), when calls are recorded.
    var trail: CallTrail?
    /// The request's W3C trace context, passed on upstream.
    var trace: TraceParent?

    init(request: ProxyRequest, endpoint: ToolEndpoint) {
        self.request = request
        self.endpoint = endpoint
        self.upstream = endpoint.server.upstream
        self.timeout = endpoint.callTimeout
        self.body = request.body
    }

    var server: MountedServer { endpoint.server }
    var tool: ToolDefinition { endpoint.operation.tool }
}

/// What became of a call, as it passes the stages back: the tool's result, a failure, or (once the answer stage has
/// made it) the HTTP answer.
struct CallOutcome: Sendable {
    enum Value: Sendable {
        /// The tool's `CallToolResult`, as its server sent it.
        case result(JSON)
        case failure(CallFailure)
        /// The HTTP answer (the answer stage makes it from the two above; an event stream makes its own).
        case response(ProxyResponse)
    }

    var value: Value
    /// Headers the answer carries whatever it is (a renewed session cookie).
    var headers: HTTPHeaders = [:]
    /// Who called, as authentication found (set on the way back, for the stages before it).
    var callerName: String?

    static func result(_ result: JSON) -> CallOutcome { CallOutcome(value: .result(result)) }
    static func failure(_ failure: CallFailure) -> CallOutcome { CallOutcome(value: .failure(failure)) }
    static func response(_ response: ProxyResponse) -> CallOutcome { CallOutcome(value: .response(response)) }

    /// The answer's status: the HTTP answer's once the answer stage has made it; for the MCP endpoint's calls
    /// (which make none) 200 for a result and the failure's own status.
    var status: Int? {
        switch value {
        case .response(let response): Int(response.status.code)
        case .result: 200
        case .failure(let failure): failure.status
        }
    }

    /// The HTTP answer of a result or a failure: `ToolResultMapper` for a tool's result (`outputSchema` tells the
    /// Python SDK's result wrapper apart), `FeatureAnswer` for a resource's or a prompt's, `CallFailure`'s own answer
    /// for a failure.
    static func answer(for value: Value, operation: ToolOperation, offload: BinaryOffload? = nil) -> ProxyResponse {
        switch value {
        case .result(let result) where operation.kind != .tool:
            switch FeatureAnswer.answer(for: operation.kind, result: result) {
            case .json(let answer):
                return .json(answer)
            case .content(let contentType, let bytes):
                return ProxyResponse(
                    status: .ok, headers: ["Content-Type": contentType], body: .bytes(ByteBuffer(bytes: bytes)))
            }
        case .result(let result):
            return .json(
                ToolResultMapper.answer(for: result, outputSchema: operation.tool.outputSchema, offload: offload))
        case .failure(let failure):
            return failure.response
        case .response(let response):
            return response
        }
    }

    /// The status and body of a result or a failure as JSON (nil for an answer made already).
    static func httpAnswer(for value: Value, operation: ToolOperation, offload: BinaryOffload? = nil) -> HTTPAnswer? {
        switch value {
        case .result(let result) where operation.kind != .tool:
            FeatureAnswer.jsonAnswer(for: operation.kind, result: result)
        case .result(let result):
            ToolResultMapper.answer(for: result, outputSchema: operation.tool.outputSchema, offload: offload)
        case .failure(let failure): failure.answer
        case .response: nil
        }
    }
}
