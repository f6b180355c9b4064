import JSONValue
import MCPClient
import MCPOConfig
import Synchronization

/// An upstream server made in the test: it serves the tools it is given and answers calls with `answer`. It stands
/// where `UpstreamServer` stands (`ToolUpstream`), so the face runs exactly as it does in front of a real server.
final class TestUpstream: ToolUpstream {
    typealias Answer = @Sendable (ToolCallRequest) async throws(MCPClientError) -> JSON

    private let entryState: Mutex<ServerEntry>
    var entry: ServerEntry { entryState.withLock { $0 } }
    /// The entry's `toolRisk`, `confirm`, `pinTools` and `rateLimit` (set before the server is mounted).
    var governance: ServerGovernance {
        get { entry.governance }
        set { entryState.withLock { $0.governance = newValue } }
    }
    private let tools: [JSON]
    private let answer: Answer
    private let calls = Mutex<[ToolCallRequest]>([])
    /// Resources and prompts: what the server declares and lists, and how it answers their requests (by default as a
    /// server without them).
    struct Features: Sendable {
        var capabilities: JSON = [:]
        var prompts: [JSON] = []
        /// The entry's `elicitation`: the server's questions reach the caller.
        var elicitation = false
        var answer: @Sendable (UpstreamRequest) async throws(MCPClientError) -> JSON = {
            request throws(MCPClientError) in
            throw .rpc(code: -32601, message: "Method not found: \(request.method)", data: nil)
        }
    }

    private let features: Features
    private let sentRequests = Mutex<[UpstreamRequest]>([])
    private let state = Mutex<UpstreamState>(.connected)

    init(
        name: String = "test", tools: [JSON], access: ServerAccess = ServerAccess(), features: Features = Features(),
        answer: @escaping Answer
    ) {
        self.features = features
        var entry = ServerEntry(name: name, transport: .stdio(StdioCommand(command: "/bin/true")))
        entry.access = access
        entry.features.elicitation = features.elicitation
        self.entryState = Mutex(entry)
        self.tools = tools
        self.answer = answer
    }

    /// The calls that reached the server, in order.
    var received: [ToolCallRequest] { calls.withLock { $0 } }

    var status: UpstreamStatus {
        UpstreamStatus(state: state.withLock { $0 }, toolCount: tools.count, serverName: entry.name)
    }

    var snapshot: UpstreamSnapshot? {
        UpstreamSnapshot(
            server: ServerIdentity(
                name: entry.name, version: "1.0", protocolVersion: "2025-11-25",
                capabilities: features.capabilities),
            tools: tools, prompts: features.prompts)
    }

    /// The requests other than tool calls that reached the server, in order.
    var sent: [UpstreamRequest] { sentRequests.withLock { $0 } }

    func observe(_ observer: @escaping @Sendable (UpstreamSnapshot) -> Void) {}

    func start() async throws(MCPClientError) -> UpstreamSnapshot {
        guard let snapshot else { throw .unavailable(reason: "no tools") }
        return snapshot
    }

    func startInBackground() {}

    func callTool(_ request: ToolCallRequest) async throws(MCPClientError) -> JSON {
        calls.withLock { $0.append(request) }
        return try await answer(request)
    }

    func send(_ request: UpstreamRequest) async throws(MCPClientError) -> JSON {
        sentRequests.withLock { $0.append(request) }
        return try await features.answer(request)
    }

    func shutdown() async {
        state.withLock { $0 = .stopped }
    }
}

/// Tool definitions for the tests.
enum TestTools {
    static let echo: JSON = [
        "name": "echo", "description": "Echoes its text.",
        "inputSchema": ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]],
    ]

    static let noArguments: JSON = ["name": "ping", "inputSchema": ["type": "object", "properties": [:]]]

    /// A `CallToolResult` with one text item.
    static func text(_ text: String) -> JSON {
        ["content": [["type": "text", "text": .string(text)]], "isError": false]
    }
}

extension CallCancellation {
    /// Returns once `cancel()` has been called.
    func wait() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            if register({ done.resume() }) == nil { done.resume() }
        }
    }
}
