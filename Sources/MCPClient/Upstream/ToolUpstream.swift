import JSONValue
import MCPOConfig

/// One tool call, as the HTTP face asks for it.
public struct ToolCallRequest: Sendable {
    public var name: String
    public var arguments: JSON
    /// The arguments as the caller sent them, when that text is exactly `arguments` (sent as it is instead of being
    /// encoded again).
    public var argumentsText: [UInt8]?
    /// Seconds the call may take; then it fails with `.timedOut` and is cancelled upstream.
    public var timeout: Double
    /// Gets the call's `notifications/progress` (a progress token is sent only when it is set).
    public var onProgress: RPCConnection.ProgressHandler?
    /// Answers the questions the server asks during the call (`elicitation/create`); none: they are refused.
    public var onInput: RPCConnection.InputHandler?
    /// Ends the call with `.cancelled`, as cancelling the caller's task does.
    public var cancellation: CallCancellation?
    /// Headers sent with the call to a remote server (the caller's identity, where the entry forwards it).
    public var headers: [(name: String, value: String)]
    /// Members added to the call's `_meta` (the W3C trace context), for every transport.
    public var meta: OrderedJSONObject?

    public init(
        name: String, arguments: JSON, argumentsText: [UInt8]? = nil, timeout: Double,
        onProgress: RPCConnection.ProgressHandler? = nil, cancellation: CallCancellation? = nil,
        headers: [(name: String, value: String)] = [], meta: OrderedJSONObject? = nil
    ) {
        self.name = name
        self.arguments = arguments
        self.argumentsText = argumentsText
        self.timeout = timeout
        self.onProgress = onProgress
        self.cancellation = cancellation
        self.headers = headers
        self.meta = meta
    }
}

/// A request other than a tool call (`resources/read`, `prompts/get`, a listing), as the HTTP face asks for it.
public struct UpstreamRequest: Sendable {
    public var method: String
    public var params: JSON?
    /// A paginated listing: every page is fetched and the answer is `{<listing>: [every element]}`.
    public var listing: String?
    public var timeout: Double
    public var cancellation: CallCancellation?
    public var headers: [(name: String, value: String)]

    public init(
        method: String, params: JSON? = nil, listing: String? = nil, timeout: Double,
        cancellation: CallCancellation? = nil, headers: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.params = params
        self.listing = listing
        self.timeout = timeout
        self.cancellation = cancellation
        self.headers = headers
    }
}

/// An upstream MCP server as the HTTP face uses it. `UpstreamServer` is the real one; the face's in-process tests
/// make their own.
public protocol ToolUpstream: AnyObject, Sendable {
    var entry: ServerEntry { get }
    var status: UpstreamStatus { get }
    /// The server and its tools, once connected (kept while reconnecting).
    var snapshot: UpstreamSnapshot? { get }
    /// Called with every new snapshot (after a reconnect or a tool-list change).
    func observe(_ observer: @escaping @Sendable (UpstreamSnapshot) -> Void)
    /// Connects now and returns the first snapshot.
    @discardableResult func start() async throws(MCPClientError) -> UpstreamSnapshot
    /// Connects in the background and keeps reconnecting whenever the server is down, until `shutdown()`.
    func startInBackground()
    /// Calls a tool and returns its `CallToolResult` as the server wrote it. A call that provably never reached the
    /// server, or whose tool says repeating it is harmless, is sent once more when its connection broke.
    func callTool(_ request: ToolCallRequest) async throws(MCPClientError) -> JSON
    /// Sends another request (resources, prompts) and returns its result as the server wrote it.
    func send(_ request: UpstreamRequest) async throws(MCPClientError) -> JSON
    /// Stops the server for good.
    func shutdown() async
}

extension ToolUpstream {
    public var name: String { entry.name }
}

extension ToolUpstream {
    /// `callTool` with the request's parts.
    public func callTool(
        name: String, arguments: JSON, argumentsText: [UInt8]? = nil, timeout: Double,
        onProgress: RPCConnection.ProgressHandler? = nil, cancellation: CallCancellation? = nil
    ) async throws(MCPClientError) -> JSON {
        try await callTool(
            ToolCallRequest(
                name: name, arguments: arguments, argumentsText: argumentsText, timeout: timeout,
                onProgress: onProgress, cancellation: cancellation))
    }
}
