import Foundation
import JSONValue
import Logging
import MCPOAudit
import MCPOConfig
import Synchronization

/// The approved definition of every tool of servers with `pinTools`, held in memory (so building routes never
/// waits for the store) and kept in the store (so a restart, the CLI and other replicas see the same).
///
/// When a server lists its tools, each is compared with its pin: a tool seen for the first time is pinned; an
/// unchanged one is served; a changed one is, with `warn`, logged, recorded in the audit log and pinned anew, and,
/// with `block`, served as approved (its calls answer 409) until `approve` makes the listed definition the approved
/// one. Approvals made elsewhere (`mcpo pins approve`, another replica) are noticed within a second.
final class PinBook: Sendable {
    /// What the routes of one server serve after a review.
    struct Review: Sendable {
        /// The tool definitions to serve (approved ones in place of blocked changes).
        var served: [JSON]
        /// Tools whose listed definition waits for approval, with the approved and the listed hash.
        var blocked: [String: (approved: String, current: String)]
        /// The pins have not been read from the store yet: with `block`, calls wait for them (503).
        var unreadable: Bool
    }

    private struct State {
        var pins: [String: [String: ToolPin]] = [:]
        /// Changes already told (logged, recorded), so a rebuild does not tell them again: server/tool → hash.
        var told: [String: String] = [:]
        /// The store's pins version last read; nil until the pins were read once.
        var version: Int64?
        var poller: Task<Void, Never>?
        var lastError: String?
    }

    private let store: any GovernanceStore
    private let services: GovernanceServices
    private let logger: Logger
    private let state = Mutex(State())
    private let onChange = Mutex<(@Sendable () -> Void)?>(nil)

    init(store: any GovernanceStore, services: GovernanceServices, logger: Logger) {
        self.store = store
        self.services = services
        self.logger = logger
    }

    /// Reads every pin from the store, and polls it for approvals made elsewhere (each second). A store that cannot be
    /// read at start is read again each second; meanwhile `block` servers refuse calls and `warn` ones serve.
    func start(onChange: @escaping @Sendable () -> Void) async {
        self.onChange.withLock { $0 = onChange }
        do {
            try await reload()
        } catch {
            state.withLock { $0.lastError = error.description }
            logger.warning(
                "cannot read the pinned tool definitions yet (\(error.description)); servers with pinTools: block refuse calls until they can be read"
            )
        }
        let poller = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self, !Task.isCancelled else { return }
                await self.poll()
            }
        }
        state.withLock { $0.poller = poller }
    }

    func stop() {
        state.withLock { $0.poller.take() }?.cancel()
    }

    /// Why the store could not be read lately (nil while it answers).
    var lastError: String? { state.withLock { $0.lastError } }

    private func poll() async {
        let version: Int64
        do {
            version = try await store.pinsVersion()
            state.withLock { $0.lastError = nil }
        } catch {
            state.withLock { $0.lastError = error.description }
            return
        }
        guard state.withLock({ $0.version }) != version else { return }
        do {
            try await reload()
        } catch {
            return
        }
        let callback = onChange.withLock { $0 }
        callback?()
    }

    private func reload() async throws(AuditError) {
        let version = try await store.pinsVersion()
        let pins = try await store.pins(server: nil)
        var byServer: [String: [String: ToolPin]] = [:]
        for pin in pins { byServer[pin.server, default: [:]][pin.tool] = pin }
        state.withLock { state in
            // Pins recorded from memory while the store was unread are merged: the store's win.
            var merged = state.version == nil ? state.pins : [:]
            for (server, pins) in byServer { merged[server, default: [:]].merge(pins) { _, stored in stored } }
            state.pins = merged
            state.version = version
        }
    }

    /// Every pin, for `mcpo pins list` and the admin route.
    func pins(server: String) -> [ToolPin] {
        state.withLock { $0.pins[server].map { Array($0.values) } ?? [] }.sorted { $0.tool < $1.tool }
    }

    /// Compares what `server` lists with its pins (see the type's description); sync, from memory.
    func review(server: String, mode: PinMode, tools: [JSON]) -> Review {
        guard mode != .off else { return Review(served: tools, blocked: [:], unreadable: false) }
        if mode == .block, state.withLock({ $0.version == nil }) {
            return Review(served: tools, blocked: [:], unreadable: true)
        }
        var served: [JSON] = []
        var blocked: [String: (approved: String, current: String)] = [:]
        var tasks: [@Sendable () async -> Void] = []
        let now = Date()
        for tool in tools {
            guard let name = tool["name"]?.stringValue else {
                served.append(tool)
                continue
            }
            let definition = Self.definition(of: tool)
            let text = String(decoding: definition.canonicalBytes, as: UTF8.self)
            let hash = Self.hash(text)
            let key = server + "/" + name
            let decision = state.withLock { state -> Decision in
                guard let pin = state.pins[server]?[name] else {
                    let pin = ToolPin(
                        server: server, tool: name, approvedHash: hash, approvedDefinition: text, firstSeen: now,
                        approvedAt: now)
                    state.pins[server, default: [:]][name] = pin
                    return .new(pin)
                }
                if pin.approvedHash == hash {
                    let wasChanged = pin.currentHash != nil
                    if wasChanged { state.pins[server]?[name]?.currentHash = nil }
                    state.told[key] = nil
                    return wasChanged ? .reverted : .same
                }
                let firstTelling = state.told[key] != hash
                state.told[key] = hash
                switch mode {
                case .warn, .off:
                    var renewed = pin
                    renewed.approvedHash = hash
                    renewed.approvedDefinition = text
                    renewed.currentHash = nil
                    renewed.currentDefinition = nil
                    renewed.approvedAt = now
                    state.pins[server]?[name] = renewed
                    return .warned(previous: pin.approvedHash, tell: firstTelling)
                case .block:
                    state.pins[server]?[name]?.currentHash = hash
                    state.pins[server]?[name]?.currentDefinition = text
                    return .blocked(pin, tell: firstTelling)
                }
            }
            switch decision {
            case .new(let pin):
                served.append(tool)
                tasks.append { [store] in _ = try? await store.pinFirstSeen(pin) }
            case .same:
                served.append(tool)
            case .reverted:
                served.append(tool)
                tasks.append { [store] in
                    try? await store.recordCurrent(server: server, tool: name, hash: nil, definition: nil)
                }
            case .warned(let previous, let tell):
                served.append(tool)
                if tell {
                    logger.warning(
                        "[\(server)] the definition of tool '\(name)' changed (\(previous.prefix(12)) → \(hash.prefix(12))); serving the new one (pinTools: warn)"
                    )
                    services.metrics?.definitionChanged(server: server)
                    record(server: server, tool: name, previous: previous, current: hash)
                }
                tasks.append { [store] in
                    try? await store.recordCurrent(server: server, tool: name, hash: hash, definition: text)
                    _ = try? await store.approve(server: server, tools: [name], at: now)
                }
            case .blocked(let pin, let tell):
                // The approved definition is served; calls answer 409 until the change is approved.
                served.append((try? JSON.parse(Array(pin.approvedDefinition.utf8))) ?? tool)
                blocked[name] = (pin.approvedHash, hash)
                if tell {
                    logger.warning(
                        "[\(server)] the definition of tool '\(name)' changed (\(pin.approvedHash.prefix(12)) → \(hash.prefix(12))); its calls answer 409 until approved: mcpo pins approve \(server) \(name)"
                    )
                    services.metrics?.definitionChanged(server: server)
                    record(server: server, tool: name, previous: pin.approvedHash, current: hash)
                    tasks.append { [store] in
                        try? await store.recordCurrent(server: server, tool: name, hash: hash, definition: text)
                    }
                }
            }
        }
        if !tasks.isEmpty {
            Task {
                for task in tasks { await task() }
            }
        }
        return Review(served: served, blocked: blocked, unreadable: false)
    }

    private enum Decision {
        case new(ToolPin)
        case same
        case reverted
        case warned(previous: String, tell: Bool)
        case blocked(ToolPin, tell: Bool)
    }

    /// Approves the listed definitions of `tools` (all of the server's when empty); returns the pins approved.
    func approve(server: String, tools: [String]) async throws(AuditError) -> [ToolPin] {
        let approved = try await store.approve(server: server, tools: tools, at: Date())
        try await reload()
        state.withLock { state in
            for pin in approved { state.told[pin.server + "/" + pin.tool] = nil }
        }
        for pin in approved {
            logger.info("[\(server)] the definition of tool '\(pin.tool)' is approved (\(pin.approvedHash.prefix(12)))")
        }
        let callback = onChange.withLock { $0 }
        callback?()
        return approved
    }

    private func record(server: String, tool: String, previous: String, current: String) {
        guard let writer = services.auditWriter else { return }
        writer.submit(
            AuditRecord(
                id: services.requestIDs.next(), time: Date(), caller: "mcpo", server: server, tool: tool,
                argsSha256: Self.hash("{}"), status: 0, outcome: .definitionChanged, durationMs: 0,
                output: "approved \(previous) listed \(current)", replica: services.replica))
    }

    /// What a pin covers of a tool: name, title, description, input and output schema, annotations.
    static func definition(of tool: JSON) -> JSON {
        var definition = OrderedJSONObject()
        for key in ["name", "title", "description", "inputSchema", "outputSchema", "annotations"] {
            if let value = tool[key], !value.isNull { definition[key] = value }
        }
        return .object(definition)
    }

    static func hash(_ text: String) -> String {
        Digest.sha256Hex(text.utf8)
    }
}
