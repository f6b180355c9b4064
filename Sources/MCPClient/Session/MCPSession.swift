import JSONValue
import Logging
import NIOCore
import Synchronization

/// Who the proxy says it is in `initialize` (and, in 2026-07-28, in every request's `_meta`).
public struct ClientIdentity: Sendable {
    public var name: String
    public var version: String
    /// What the proxy answers the server's own requests, and so the capabilities it declares.
    public var answers: ServerRequestAnswers

    public init(name: String, version: String, answers: ServerRequestAnswers = ServerRequestAnswers()) {
        self.name = name
        self.version = version
        self.answers = answers
    }
}

/// What the server said about itself in the handshake (or in `server/discover`).
public struct ServerIdentity: Sendable, Equatable {
    public var name: String
    public var title: String?
    public var version: String
    public var instructions: String?
    public var protocolVersion: String
    public var capabilities: JSON

    public init(
        name: String, title: String? = nil, version: String, instructions: String? = nil, protocolVersion: String,
        capabilities: JSON = [:]
    ) {
        self.name = name
        self.title = title
        self.version = version
        self.instructions = instructions
        self.protocolVersion = protocolVersion
        self.capabilities = capabilities
    }
}

/// How the proxy and the server agreed to talk.
public enum ProtocolEra: Sendable, Equatable {
    /// `initialize` handshake, then requests (2024-11-05 … 2025-11-25).
    case handshake
    /// No handshake; every request carries its version, capabilities and client info in `_meta` (2026-07-28).
    case stateless
}

/// One MCP session over one connection, in either era.
///
/// Over stateful streamable HTTP a session the server forgot (404) is renewed in place: a fresh
/// `initialize` on the same connection, once for all callers, then the failed request is sent again.
public final class MCPSession: Sendable {
    /// Handshake-era versions, newest first; the first is what we offer.
    public static let supportedProtocolVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    /// Stateless-era versions, newest first.
    public static let statelessProtocolVersions = ["2026-07-28"]
    /// A server that pages forever is cut off here.
    static let maxToolPages = 1000

    static let protocolVersionKey = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    static let clientInfoKey = "io.modelcontextprotocol/clientInfo"
    static let serverInfoKey = "io.modelcontextprotocol/serverInfo"

    private struct Renewal {
        /// Bumped by every completed renewal; a request that failed on an older generation just retries.
        var generation = 0
        var inProgress: Task<Void, any Error>?
    }

    private let connection: RPCConnection
    public let era: ProtocolEra
    private let client: ClientIdentity
    private let handshakeTimeout: Double
    private let sessionControl: (any HTTPSessionControl)?
    private let identity: Mutex<ServerIdentity>
    private let renewal = Mutex(Renewal())
    private let renewedHandler = Mutex<(@Sendable (MCPSession) -> Void)?>(nil)

    private init(
        connection: RPCConnection, era: ProtocolEra, server: ServerIdentity, client: ClientIdentity,
        handshakeTimeout: Double, sessionControl: (any HTTPSessionControl)?
    ) {
        self.connection = connection
        self.era = era
        self.identity = Mutex(server)
        self.client = client
        self.handshakeTimeout = handshakeTimeout
        self.sessionControl = sessionControl
    }

    /// The server as it described itself most recently (a renewed session may report a new version).
    public var server: ServerIdentity { identity.withLock { $0 } }

    /// Called after a transparent session renewal, so the caller can re-list tools.
    func onRenewed(_ handler: @escaping @Sendable (MCPSession) -> Void) {
        renewedHandler.withLock { $0 = handler }
    }

    // MARK: - Opening

    /// Runs the stateful handshake: `initialize`, version check, `notifications/initialized`.
    static func handshake(
        over connection: RPCConnection, client: ClientIdentity, timeout: Double,
        sessionControl: (any HTTPSessionControl)? = nil
    ) async throws(RequestFailure) -> MCPSession {
        let server = try await initialize(
            over: connection, client: client, timeout: timeout, sessionControl: sessionControl)
        let session = MCPSession(
            connection: connection, era: .handshake, server: server, client: client, handshakeTimeout: timeout,
            sessionControl: sessionControl)
        sessionControl?.onSessionExpired { [weak session] in session?.renewInBackground() }
        return session
    }

    private static func initialize(
        over connection: RPCConnection, client: ClientIdentity, timeout: Double,
        sessionControl: (any HTTPSessionControl)?
    ) async throws(RequestFailure) -> ServerIdentity {
        let offered = supportedProtocolVersions[0]
        let result = try await connection.detailedRequest(
            "initialize",
            params: [
                "protocolVersion": .string(offered),
                "capabilities": client.answers.capabilities,
                "clientInfo": ["name": .string(client.name), "version": .string(client.version)],
            ],
            timeout: timeout)
        guard let version = result["protocolVersion"]?.stringValue else {
            throw .client(.protocolViolation("the initialize result has no protocolVersion"))
        }
        guard supportedProtocolVersions.contains(version) else {
            throw .client(
                .protocolViolation(
                    "the server chose protocol version \(version); the proxy speaks "
                        + supportedProtocolVersions.joined(separator: ", ")))
        }
        let info = result["serverInfo"]
        let server = ServerIdentity(
            name: info?["name"]?.stringValue ?? "MCP server",
            title: info?["title"]?.stringValue,
            version: info?["version"]?.stringValue ?? "1.0",
            instructions: result["instructions"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            protocolVersion: version,
            capabilities: result["capabilities"] ?? [:])
        sessionControl?.useProtocolVersion(version)
        connection.notify("notifications/initialized", params: nil)
        return server
    }

    /// What `server/discover` answered: a stateless session, or why the server is not one.
    enum Discovery {
        case stateless(MCPSession)
        /// The server is not (or not only) stateless: fall back to `initialize`.
        case handshakeEra(evidence: String)
    }

    /// Probes a 2026-07-28 server with `server/discover` (`versioning.mdx`, "Protocol Version
    /// Negotiation"), retrying once with a version from an `UnsupportedProtocolVersionError`.
    ///
    /// Only positive evidence makes a session stateless: a result listing a version we speak. Any
    /// JSON-RPC error other than "unsupported version, and only newer versions offered" means "try the
    /// handshake", as the Python SDK's client does; transport failures are thrown (an outage says nothing
    /// about the era).
    static func discover(
        over connection: RPCConnection, client: ClientIdentity, timeout: Double, version: String
    ) async throws(MCPClientError) -> Discovery {
        var version = version
        for attempt in 0..<2 {
            let result: JSON
            do {
                result = try await connection.detailedRequest(
                    "server/discover", params: .object(meta(version: version, client: client)), timeout: timeout)
            } catch .client(.rpc(let code, let message, let data)) {
                let offered = data?["supported"]?.arrayValue?.compactMap(\.stringValue)
                if code == -32022, let offered {
                    if attempt == 0, let mutual = statelessProtocolVersions.first(where: offered.contains),
                        mutual != version
                    {
                        version = mutual
                        continue
                    }
                    if !offered.contains(where: supportedProtocolVersions.contains),
                        !offered.contains(where: statelessProtocolVersions.contains)
                    {
                        throw .protocolViolation(
                            "the server speaks protocol versions \(offered.joined(separator: ", ")); the proxy speaks "
                                + (statelessProtocolVersions + supportedProtocolVersions).joined(separator: ", "))
                    }
                }
                return .handshakeEra(evidence: "server/discover failed with JSON-RPC error \(code): \(message)")
            } catch .refused(let refusal) where [400, 404, 405].contains(refusal.status) {
                return .handshakeEra(evidence: refusal.detail)
            } catch {
                throw error.clientError
            }
            let offered = result["supportedVersions"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard let chosen = statelessProtocolVersions.first(where: offered.contains) else {
                return .handshakeEra(
                    evidence: "server/discover lists only \(offered.joined(separator: ", ")), none of them stateless")
            }
            let info = result["_meta"]?[serverInfoKey]
            let server = ServerIdentity(
                name: info?["name"]?.stringValue ?? "MCP server",
                title: info?["title"]?.stringValue,
                version: info?["version"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "1.0",
                instructions: result["instructions"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                protocolVersion: chosen,
                capabilities: result["capabilities"] ?? [:])
            return .stateless(
                MCPSession(
                    connection: connection, era: .stateless, server: server, client: client,
                    handshakeTimeout: timeout, sessionControl: nil))
        }
        return .handshakeEra(evidence: "server/discover offered no version the proxy speaks")
    }

    /// The per-request `_meta` of the stateless era.
    static func meta(version: String, client: ClientIdentity) -> OrderedJSONObject {
        [
            "_meta": [
                protocolVersionKey: .string(version),
                clientCapabilitiesKey: client.answers.capabilities,
                clientInfoKey: ["name": .string(client.name), "version": .string(client.version)],
            ]
        ]
    }

    // MARK: - Requests

    /// Sends a request in this session's era: `_meta` added when stateless, an expired session renewed
    /// and the request sent once more when stateful over HTTP.
    public func request(
        _ method: String, params: JSON?, timeout: Double?, headers: [(name: String, value: String)] = [],
        onProgress: RPCConnection.ProgressHandler? = nil, cancellation: CallCancellation? = nil
    ) async throws(MCPClientError) -> JSON {
        try await request(
            method, params: params, encodedMember: nil, timeout: timeout, headers: headers, onProgress: onProgress,
            cancellation: cancellation)
    }

    private func request(
        _ method: String, params: JSON?, encodedMember: RPCConnection.EncodedMember?, timeout: Double?,
        headers: [(name: String, value: String)], onProgress: RPCConnection.ProgressHandler?,
        onInput: RPCConnection.InputHandler? = nil, cancellation: CallCancellation?
    ) async throws(MCPClientError) -> JSON {
        let params = withEraMeta(params)
        // While a new session is being opened there is no session id to send: wait for it.
        if let renewing = renewal.withLock({ $0.inProgress }) { _ = await renewing.result }
        let generation = renewal.withLock { $0.generation }
        func send() async throws(RequestFailure) -> JSON {
            try await connection.detailedRequest(
                method, params: params, encodedMember: encodedMember, timeout: timeout, headers: headers,
                onProgress: onProgress, onInput: onInput, cancellation: cancellation)
        }
        do {
            return try await send()
        } catch .refused(let refusal) where refusal.sessionExpired {
            // The server never saw this request (it did not know the session), so sending it again is safe.
            try await renew(after: generation, reason: refusal.detail)
            do {
                return try await send()
            } catch {
                throw error.clientError
            }
        } catch {
            throw error.clientError
        }
    }

    private func withEraMeta(_ params: JSON?) -> JSON? {
        guard era == .stateless else { return params }
        var object = params?.objectValue ?? [:]
        var meta = object["_meta"]?.objectValue ?? [:]
        let added = Self.meta(version: server.protocolVersion, client: client)["_meta"]?.objectValue ?? [:]
        for (key, value) in added where meta[key] == nil { meta[key] = value }
        object["_meta"] = .object(meta)
        return .object(object)
    }

    /// Every tool, following `nextCursor` to the end.
    public func listTools(timeout: Double) async throws(MCPClientError) -> [JSON] {
        try await listEvery("tools/list", member: "tools", timeout: timeout)
    }

    /// Every element of a paginated listing (`tools/list`, `prompts/list`, `resources/list` …), following
    /// `nextCursor` to the end.
    public func listEvery(
        _ method: String, member: String, timeout: Double, headers: [(name: String, value: String)] = [],
        cancellation: CallCancellation? = nil
    ) async throws(MCPClientError) -> [JSON] {
        var elements: [JSON] = []
        var cursor: String?
        var seenCursors: Set<String> = []
        for _ in 0..<Self.maxToolPages {
            let params: JSON? = cursor.map { ["cursor": .string($0)] }
            let page = try await request(
                method, params: params, timeout: timeout, headers: headers, cancellation: cancellation)
            guard let pageElements = page[member]?.arrayValue else {
                throw .protocolViolation("the \(method) result has no \(member) array")
            }
            elements.append(contentsOf: pageElements)
            guard let next = page["nextCursor"]?.stringValue, !next.isEmpty else { return elements }
            guard seenCursors.insert(next).inserted else {
                throw .protocolViolation("\(method) returned the cursor '\(next)' twice")
            }
            cursor = next
        }
        throw .protocolViolation("\(method) returned more than \(Self.maxToolPages) pages")
    }

    /// Calls a tool and returns its `CallToolResult` as the server wrote it.
    /// `argumentsText`: the arguments as JSON text, when the caller has them encoded exactly (sent as they are).
    public func callTool(
        name: String, arguments: JSON, argumentsText: [UInt8]? = nil, timeout: Double,
        headers: [(name: String, value: String)] = [], meta: OrderedJSONObject? = nil,
        onProgress: RPCConnection.ProgressHandler? = nil, onInput: RPCConnection.InputHandler? = nil,
        cancellation: CallCancellation? = nil
    ) async throws(MCPClientError) -> JSON {
        var params: JSON =
            argumentsText == nil ? ["name": .string(name), "arguments": arguments] : ["name": .string(name)]
        if let meta, !meta.isEmpty { params["_meta"] = .object(meta) }
        return try await interactiveRequest(
            "tools/call", params: params,
            encodedMember: argumentsText.map { RPCConnection.EncodedMember(key: "arguments", text: $0) },
            timeout: timeout, headers: headers, onProgress: onProgress, onInput: onInput, cancellation: cancellation)
    }

    /// A request that may be answered with `input_required` (`tools/call`, `resources/read`, `prompts/get`): the
    /// 2026-07-28 multi round-trip, where the server asks for what it needs instead of sending requests mid-call. The
    /// proxy answers what it can answer itself (roots) and sends the request again; it cannot give the rest.
    func interactiveRequest(
        _ method: String, params: JSON, encodedMember: RPCConnection.EncodedMember? = nil, timeout: Double,
        headers: [(name: String, value: String)] = [], onProgress: RPCConnection.ProgressHandler? = nil,
        onInput: RPCConnection.InputHandler? = nil, cancellation: CallCancellation? = nil
    ) async throws(MCPClientError) -> JSON {
        var params = params
        for _ in 0..<Self.maxInputRounds {
            let result = try await request(
                method, params: params, encodedMember: encodedMember, timeout: timeout, headers: headers,
                onProgress: onProgress, onInput: onInput, cancellation: cancellation)
            guard result["resultType"]?.stringValue == "input_required" else { return result }
            params["inputResponses"] = .object(
                try await Self.inputResponses(to: result, answers: client.answers, onInput: onInput))
            params["requestState"] = result["requestState"]
        }
        throw .protocolViolation("the server asked for input more than \(Self.maxInputRounds) times in a row")
    }

    /// Rounds of `input_required` one call may take.
    static let maxInputRounds = 8

    /// The proxy's own answers to an `input_required` result's requests, keyed as the server keyed them; a request
    /// only a person or a model could answer (elicitation, sampling) fails the call, saying which.
    static func inputResponses(
        to result: JSON, answers: ServerRequestAnswers, onInput: RPCConnection.InputHandler? = nil
    ) async throws(MCPClientError) -> OrderedJSONObject {
        var responses = OrderedJSONObject()
        var unanswerable: [String] = []
        for (key, input) in result["inputRequests"]?.objectValue ?? [:] {
            let method = input["method"]?.stringValue ?? "?"
            let answer: ServerRequestAnswers.Answer
            if method == "elicitation/create", answers.elicitation, let onInput {
                answer = await onInput(method, input["params"] ?? [:])
            } else {
                answer = answers.answer(method: method)
            }
            switch answer {
            case .result(let value) where method != "ping": responses[key] = value
            default: unanswerable.append(method)
            }
        }
        guard unanswerable.isEmpty else {
            throw .protocolViolation(
                "the tool asked the client for input (\(unanswerable.joined(separator: ", "))), which the proxy "
                    + "cannot provide")
        }
        return responses
    }

    /// Waits (bounded) until a stateful HTTP session's GET stream is up; other transports need no wait.
    func awaitServerMessageStream(within bound: TimeAmount) async {
        await sessionControl?.waitUntilListening(within: bound)
    }

    /// Whether the connection underneath has ended.
    var isClosed: Bool { connection.isClosed }

    /// Ends the session: requests in flight fail, the transport is shut down.
    func close(reason: String) async {
        await connection.close(reason: reason)
    }

    /// Opens a 2026-07-28 `subscriptions/listen` stream for tool-list changes; returns when the server
    /// ends it gracefully, throws when it breaks. Its notifications reach the connection's handler.
    func listenForToolChanges() async throws(MCPClientError) {
        _ = try await request(
            "subscriptions/listen", params: ["notifications": ["toolsListChanged": true]], timeout: nil)
    }

    // MARK: - Renewal of an expired HTTP session

    private func renewInBackground() {
        let generation = renewal.withLock { $0.generation }
        Task {
            try? await self.renew(after: generation, reason: "the server ended the session")
        }
    }

    private func renew(after generation: Int, reason: String) async throws(MCPClientError) {
        guard let sessionControl else { throw .unavailable(reason: reason) }
        let task = renewal.withLock { state -> Task<Void, any Error>? in
            guard state.generation == generation else { return nil }
            if let running = state.inProgress { return running }
            let task = Task {
                sessionControl.resetSession()
                let server = try await Self.initialize(
                    over: connection, client: client, timeout: handshakeTimeout, sessionControl: sessionControl)
                identity.withLock { $0 = server }
            }
            state.inProgress = task
            return task
        }
        guard let task else { return }
        let outcome = await task.result
        let first = renewal.withLock { state -> Bool in
            guard state.generation == generation else { return false }
            state.generation += 1
            state.inProgress = nil
            return true
        }
        switch outcome {
        case .success:
            if first, let handler = renewedHandler.withLock({ $0 }) { handler(self) }
        case .failure(let error):
            let failure = RequestFailure(error).clientError
            // Without a session the connection is useless: its owner reconnects from scratch.
            if first {
                await connection.terminate(reason: "the session expired and a new one failed: \(failure.reason)")
            }
            throw .unavailable(reason: "the session expired and a new one failed: \(failure.reason)")
        }
    }
}
