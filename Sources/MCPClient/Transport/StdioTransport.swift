import Logging
import MCPOConfig
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Newline-delimited JSON-RPC over a child's standard input and output, on non-blocking NIO pipes.
///
/// The child's standard error goes to our log, one line at a time, prefixed by the server's name.
/// When the child dies the receiver hears about it at once (from the exit or from the end of its output,
/// whichever comes first), so calls in flight fail immediately instead of waiting for their timeout.
public final class StdioTransport: MCPTransport {
    /// Bounds of the stop sequence: stdin closed, then SIGTERM to the group, then SIGKILL.
    public struct StopBounds: Sendable {
        public var afterStdinClose: TimeAmount = .seconds(2)
        public var afterTerminate: TimeAmount = .seconds(3)
        public init() {}
    }

    private let process: ChildProcess
    private let channel: any Channel
    private let errorChannel: any Channel
    private let stopBounds: StopBounds
    private let ended: Mutex<Bool>

    private init(
        process: ChildProcess, channel: any Channel, errorChannel: any Channel, stopBounds: StopBounds
    ) {
        self.process = process
        self.channel = channel
        self.errorChannel = errorChannel
        self.stopBounds = stopBounds
        self.ended = Mutex(false)
    }

    public var processID: Int32 { process.pid }

    /// Spawns the server and starts reading its output.
    public static func launch(
        command: StdioCommand,
        serverName: String,
        receiver: any TransportReceiver,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxLineBytes: Int = 64 * 1024 * 1024,
        stderrTail: StderrTail? = nil,
        stopBounds: StopBounds = StopBounds()
    ) async throws(MCPClientError) -> StdioTransport {
        let eventLoop = eventLoopGroup.next()
        var environment = ProcessEnvironment.current
        environment.merge(command.environment) { _, new in new }
        let spec = ProcessSpec(
            command: command.command, arguments: command.arguments, environment: environment,
            workingDirectory: command.workingDirectory)
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(spec, eventLoop: eventLoop)
        } catch {
            throw .unavailable(reason: error.description)
        }
        logger.debug("started '\(command.command)' for \(serverName)", metadata: ["pid": "\(process.pid)"])

        // Both pipes report the end; whichever is first decides, and the exit status gives the best reason.
        let closure = ClosureReporter(receiver: receiver, process: process, eventLoop: eventLoop)
        let oversized: @Sendable (ByteBuffer) -> Void = { prefix in
            receiver.droppedOversizedMessage(prefix: prefix, limit: maxLineBytes)
        }
        do {
            let channel = try await NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(LineFramer(maxLength: maxLineBytes, onOversizedLine: oversized)),
                            LineHandler(
                                onLine: { receiver.receive(message: $0) },
                                onEnd: { closure.report(fallback: "the server closed its standard output") })
                        )
                    }
                }
                .takingOwnershipOfDescriptors(input: process.standardOutput, output: process.standardInput)
                .get()
            let errorChannel = try await NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(LineFramer(maxLength: 64 * 1024, onOversizedLine: { _ in })),
                            LineHandler(
                                onLine: { line in
                                    let text = String(buffer: line)
                                    stderrTail?.append(text)
                                    logger.info("[\(serverName)] \(text)")
                                },
                                onEnd: {})
                        )
                    }
                }
                .takingOwnershipOfDescriptor(input: process.standardError)
                .get()
            process.exitStatus.whenSuccess { status in
                closure.report(fallback: "the server process \(status)")
                channel.close(promise: nil)
                // Leftover members of the group (grandchildren) must not outlive their leader.
                process.signalGroup(SIGKILL)
            }
            return StdioTransport(
                process: process, channel: channel, errorChannel: errorChannel, stopBounds: stopBounds)
        } catch {
            process.signalGroup(SIGKILL)
            throw .unavailable(reason: "cannot attach to the server's pipes: \(error)")
        }
    }

    public func send(_ message: OutboundMessage) -> EventLoopFuture<Void> {
        var framed = message.body
        framed.writeInteger(UInt8(0x0A))
        return channel.writeAndFlush(framed)
    }

    public func shutdown() async {
        let first = ended.withLock { ended in
            defer { ended = true }
            return !ended
        }
        guard first else { return }
        let exit = process.exitStatus
        // Closing stdin is how MCP asks a stdio server to stop; signals only for those that ignore it.
        try? await channel.close(mode: .output)
        if await exit.completes(within: stopBounds.afterStdinClose) == nil {
            process.signalGroup(SIGTERM)
            if await exit.completes(within: stopBounds.afterTerminate) == nil {
                process.signalGroup(SIGKILL)
                _ = await exit.completes(within: .seconds(5))
            }
        }
        process.signalGroup(SIGKILL)
        try? await channel.close()
        try? await errorChannel.close()
    }
}

/// Reports the end of a transport exactly once, preferring the child's exit status as the reason.
private final class ClosureReporter: Sendable {
    private let receiver: any TransportReceiver
    private let process: ChildProcess
    private let eventLoop: any EventLoop
    private let reported = Mutex(false)

    init(receiver: any TransportReceiver, process: ChildProcess, eventLoop: any EventLoop) {
        self.receiver = receiver
        self.process = process
        self.eventLoop = eventLoop
    }

    func report(fallback: String) {
        // The exit usually follows the end of output within microseconds; wait briefly for the better reason.
        let exit = process.exitStatus
        let deadline = eventLoop.scheduleTask(in: .milliseconds(200)) { [self] in
            deliver(fallback)
        }
        exit.whenSuccess { [self] status in
            deadline.cancel()
            deliver("the server process \(status)")
        }
    }

    private func deliver(_ reason: String) {
        let first = reported.withLock { reported in
            defer { reported = true }
            return !reported
        }
        if first { receiver.transportClosed(reason: reason) }
    }
}

extension EventLoopFuture where Value: Sendable {
    /// The value if the future completes within `bound`, else nil (the future itself is left alone).
    func completes(within bound: TimeAmount) async -> Value? {
        let promise = eventLoop.makePromise(of: Value?.self)
        let settled = Mutex(false)
        let settle: @Sendable (Value?) -> Void = { value in
            let first = settled.withLock { settled in
                defer { settled = true }
                return !settled
            }
            if first { promise.succeed(value) }
        }
        let timer = eventLoop.scheduleTask(in: bound) { settle(nil) }
        whenComplete { result in
            timer.cancel()
            settle(try? result.get())
        }
        return (try? await promise.futureResult.get()) ?? nil
    }
}

/// The proxy's own environment, which stdio servers inherit as with mcpo.
enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

/// The last lines a server wrote to stderr, kept across restarts so a crash loop can be explained.
public final class StderrTail: Sendable {
    private let lines = Mutex<[String]>([])
    private let capacity: Int

    public init(capacity: Int = 20) {
        self.capacity = capacity
    }

    func append(_ line: String) {
        lines.withLock { lines in
            lines.append(String(line.prefix(500)))
            if lines.count > capacity { lines.removeFirst(lines.count - capacity) }
        }
    }

    public var recent: [String] { lines.withLock { $0 } }
}
