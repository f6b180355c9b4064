import JSONValue
import Logging
import NIOCore

/// Following the server's tool list: its change notifications (`notifications/tools/list_changed`, or a
/// `subscriptions/listen` stream with 2026-07-28 servers), and its log messages.
extension UpstreamServer {
    func handleNotification(method: String, params: JSON?, generation: Int) {
        switch method {
        case "notifications/tools/list_changed", "notifications/prompts/list_changed":
            Task { await self.refreshTools(generation: generation) }
        case "notifications/subscriptions/acknowledged":
            subscriptionAcknowledged(generation: generation)
        case "notifications/message":
            logServerMessage(params)
        default:
            logger.debug("[\(name)] notification \(method)")
        }
    }

    func refreshTools(generation: Int) async {
        guard let session = core.withLock({ $0.lifecycle.session(ofGeneration: generation) }) else { return }
        do {
            let tools = acceptable(try await session.listTools(timeout: startupTimeout), era: session.era)
            let prompts = await listPrompts(of: session)
            core.withLock { $0.listedTools = Self.index(tools) }
            publish(UpstreamSnapshot(server: session.server, tools: tools.filter(isServed), prompts: prompts))
            logger.info("[\(name)] tool list changed: \(tools.count) tools")
        } catch {
            logger.warning("[\(name)] re-listing tools after list_changed failed: \(error)")
        }
    }

    /// The server's prompts, when it declares them. A server whose prompt list fails still serves its tools.
    func listPrompts(of session: MCPSession) async -> [JSON] {
        guard session.server.capabilities["prompts"]?.objectValue != nil else { return [] }
        do {
            return try await session.listEvery("prompts/list", member: "prompts", timeout: startupTimeout)
        } catch {
            logger.warning("[\(name)] listing the prompts failed: \(error); no prompt routes until the list changes")
            return []
        }
    }

    /// How long a new connection waits for its change-notification channel before listing tools.
    private static var channelBound: TimeAmount { .seconds(2) }

    /// Opens the channel the server announces tool changes on, and waits (bounded) until it is up.
    ///
    /// Stateful HTTP: the GET stream. 2026-07-28: a `subscriptions/listen` stream, kept open (and reopened
    /// with backoff when it breaks) by the returned task while this connection lives; a broken stream to
    /// a server that is gone makes the reopening POST fail, which is also how its death is noticed
    /// between calls. Others (stdio, legacy SSE) need nothing: their one stream is already open.
    func openChangeNotifications(of session: MCPSession, generation: Int) async -> Task<Void, Never>? {
        guard session.era == .stateless else {
            await session.awaitServerMessageStream(within: Self.channelBound)
            return nil
        }
        guard session.server.capabilities["tools"]?["listChanged"]?.boolValue == true else { return nil }
        let eventLoop = eventLoopGroup.next()
        let acknowledged = Settlement<Void>(eventLoop: eventLoop)
        core.withLock { $0.subscription = (generation, acknowledged) }
        let task = Task {
            var quickEnds = 0
            while !Task.isCancelled {
                let opened = ContinuousClock.now
                do throws(MCPClientError) {
                    try await session.listenForToolChanges()
                } catch .rpc(let code, let message, _) {
                    logger.info("[\(name)] the server declined subscriptions/listen (\(code): \(message))")
                    acknowledged.settle(.success(()))
                    return
                } catch .cancelled {
                    return
                } catch {
                    logger.debug("[\(name)] the subscriptions/listen stream ended: \(error)")
                }
                acknowledged.settle(.success(()))
                if session.isClosed { return }
                quickEnds = opened.duration(to: .now) < .seconds(5) ? quickEnds + 1 : 0
                let delay = backoff.delay(afterFailures: max(0, quickEnds - 1))
                do {
                    try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                } catch {
                    return
                }
            }
        }
        let timer = eventLoop.scheduleTask(in: Self.channelBound) { acknowledged.settle(.success(())) }
        _ = try? await acknowledged.value
        timer.cancel()
        return task
    }

    /// The first acknowledgment opens the channel; a later one follows a broken stream, during which
    /// changes may have been missed, so the tools are listed again.
    private func subscriptionAcknowledged(generation: Int) {
        let first = core.withLock { core -> Bool? in
            guard let subscription = core.subscription, subscription.generation == generation else { return nil }
            return subscription.acknowledged.settle(.success(()))
        }
        if first == false {
            Task { await self.refreshTools(generation: generation) }
        }
    }

    private func logServerMessage(_ params: JSON?) {
        let data = params?["data"]
        let text = data?.stringValue ?? data?.text ?? ""
        let source = params?["logger"]?.stringValue.map { "\($0): " } ?? ""
        let line: Logger.Message = "[\(name)] \(source)\(text)"
        switch params?["level"]?.stringValue {
        case "debug": logger.debug(line)
        case "notice", "info": logger.info(line)
        case "warning": logger.warning(line)
        case "error", "critical", "alert", "emergency": logger.error(line)
        default: logger.info(line)
        }
    }
}
