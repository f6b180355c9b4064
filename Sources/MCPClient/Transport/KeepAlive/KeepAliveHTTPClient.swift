import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A request for `KeepAliveHTTPClient`: everything but the connection, prepared once per endpoint.
struct KeepAliveTarget: Sendable, Hashable {
    let host: String
    let port: Int
    /// The request target: the percent-encoded path and query.
    let path: String
    /// The `Host` header: the URL's authority, unless one was configured.
    let authority: String

    /// Nil unless `url` is plain `http` with a host and no user info: TLS, credentials in the URL and
    /// redirects are AsyncHTTPClient's. `hostHeader`: a configured `Host` (a virtual host behind the URL's address).
    init?(_ url: URL, hostHeader: String? = nil) {
        // The host as written (an international name as its ASCII form): `host` would decode it through ICU's
        // IDNA tables, most of a MiB of memory for a name that is nearly always plain ASCII.
        guard url.scheme?.lowercased() == "http",
            let components = URLComponents(url: url, resolvingAgainstBaseURL: false),
            let encodedHost = components.encodedHost, !encodedHost.isEmpty,
            components.percentEncodedUser == nil, components.percentEncodedPassword == nil
        else { return nil }
        let host = encodedHost.utf8.contains(UInt8(ascii: "%")) ? (components.host ?? encodedHost) : encodedHost
        let port = components.port ?? 80
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.path = components.percentEncodedQuery.map { path + "?" + $0 } ?? path
        let hostText = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        self.authority = hostHeader ?? (port == 80 ? hostText : "\(hostText):\(port)")
    }
}

/// HTTP/1.1 with pooled keep-alive connections, for the POSTs of streamable HTTP to plain `http` endpoints:
/// the hot path of a proxied call to a remote server, where AsyncHTTPClient's general machinery (URL parsing,
/// request state machines, async body streaming) costs more than the rest of the call.
///
/// Connections are kept per origin and per event loop, so a call handled on one loop writes to an upstream
/// connection on the same thread; an idle connection closes after `idleTimeout` (4 s by default), and is
/// reused only within `defaultReuseWindow` of its last answer, whenever its timer runs; one idle for
/// `closeCheckAge` or more is reused only if the kernel has not had the server's close (the loop may not have read
/// it yet).
/// No request is ever sent twice, except when the pooled connection had already closed before anything was
/// written: a request is never resent once written, since whether the server read it cannot be known.
final class KeepAliveHTTPClient: Sendable {
    private struct PoolKey: Hashable {
        let host: String
        let port: Int
        let loop: ObjectIdentifier
    }

    /// Idle connections at most kept per origin and loop; more are closed when they finish.
    static let maxIdlePerLoop = 64
    /// How long after its last answer a pooled connection may carry another request. A server closes idle
    /// connections on its own clock (uvicorn and Node after 5 s): a request written just then meets the close, and
    /// whether the server read it cannot be known, so it cannot be sent again. The idle timer would close the
    /// connection before, but a busy event loop runs it late; this bound holds however late it runs.
    static let defaultReuseWindow = TimeAmount.seconds(3)

    private struct Pooled {
        let channel: any Channel
        let released: NIODeadline
    }

    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let maxBodyBytes: Int
    private let reuseWindow: TimeAmount
    private let idleTimeout: TimeAmount
    private let closeCheckAge: TimeAmount
    private let idle = Mutex<[PoolKey: [Pooled]]>([:])
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(
        group: any EventLoopGroup, connectTimeout: TimeAmount, maxBodyBytes: Int,
        reuseWindow: TimeAmount = defaultReuseWindow,
        idleTimeout: TimeAmount = KeepAliveExchangeHandler.defaultIdleTimeout,
        closeCheckAge: TimeAmount = KeepAliveExchangeHandler.defaultCloseCheckAge
    ) {
        self.group = group
        self.connectTimeout = connectTimeout
        self.maxBodyBytes = maxBodyBytes
        self.reuseWindow = reuseWindow
        self.idleTimeout = idleTimeout
        self.closeCheckAge = closeCheckAge
    }

    /// Sends one request and returns once the answer's head arrived; the body follows through the answer.
    /// Cancelling the task closes the connection (that abandons the request).
    func execute(
        _ method: HTTPMethod, _ target: KeepAliveTarget, headers: HTTPHeaders, body: ByteBuffer,
        deadline: NIODeadline, preferring preferredLoop: any EventLoop
    ) async throws -> KeepAliveAnswer {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? preferredLoop
        let head = Self.head(method, target, headers: headers, body: body)
        while true {
            let channel = try await connection(to: target, on: loop)
            do {
                return try await exchange(head, body: body, deadline: deadline, on: channel)
            } catch KeepAliveHTTPError.staleConnection {
                continue  // nothing was written: another connection gets the request
            }
        }
    }

    /// `execute` without a suspension when a connection of the current loop is idle: the request is written at
    /// once and the answer comes through the future; nil (nothing sent) when no connection is idle. Closing
    /// `channel` abandons the request.
    func startOnIdleConnection(
        _ method: HTTPMethod, _ target: KeepAliveTarget, headers: HTTPHeaders, body: ByteBuffer,
        deadline: NIODeadline, preferring preferredLoop: any EventLoop
    ) -> (answer: EventLoopFuture<KeepAliveAnswer>, channel: any Channel)? {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? preferredLoop
        guard let channel = idleConnection(to: target, on: loop) else { return nil }
        let promise = channel.eventLoop.makePromise(of: KeepAliveAnswer.self)
        start(
            Self.head(method, target, headers: headers, body: body), body: body, deadline: deadline, on: channel,
            promise)
        return (promise.futureResult, channel)
    }

    private static func head(_ method: HTTPMethod, _ target: KeepAliveTarget, headers: HTTPHeaders, body: ByteBuffer)
        -> HTTPRequestHead
    {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.path, headers: headers)
        // The transport's headers carry neither a host nor a length of their own.
        head.headers.add(name: "Host", value: target.authority)
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        return head
    }

    /// The idle connections to `host:port`, on every loop: a connection closed by the server or by the idle timeout
    /// has left the pool (tests wait for that instead of for time to pass).
    func idleConnectionCount(host: String, port: Int) -> Int {
        idle.withLock { idle in
            idle.filter { $0.key.host == host && $0.key.port == port }.values.reduce(0) { $0 + $1.count }
        }
    }

    /// Closes every connection.
    func shutdown() async {
        let channels = open.withLock { Array($0.values) }
        idle.withLock { $0.removeAll() }
        for channel in channels { try? await channel.close() }
    }

    private func exchange(
        _ head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, on channel: any Channel
    ) async throws -> KeepAliveAnswer {
        let promise = channel.eventLoop.makePromise(of: KeepAliveAnswer.self)
        start(head, body: body, deadline: deadline, on: channel, promise)
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Writes the request on `channel` (from its loop), or fails `promise` with `staleConnection` when the
    /// connection is gone.
    private func start(
        _ head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, on channel: any Channel,
        _ promise: EventLoopPromise<KeepAliveAnswer>
    ) {
        let start: @Sendable () -> Void = {
            do {
                let handler = try channel.pipeline.syncOperations.handler(type: KeepAliveExchangeHandler.self)
                handler.start(head, body: body, deadline: deadline, promise: promise)
            } catch {
                promise.fail(KeepAliveHTTPError.staleConnection)
            }
        }
        if channel.eventLoop.inEventLoop { start() } else { channel.eventLoop.execute(start) }
    }

    /// An idle connection to the target on `loop`, or a new one there.
    private func connection(to target: KeepAliveTarget, on loop: any EventLoop) async throws -> any Channel {
        if let reused = idleConnection(to: target, on: loop) { return reused }
        let key = PoolKey(host: target.host, port: target.port, loop: ObjectIdentifier(loop))
        return try await connect(to: target, on: loop, key: key)
    }

    private func idleConnection(to target: KeepAliveTarget, on loop: any EventLoop) -> (any Channel)? {
        let key = PoolKey(host: target.host, port: target.port, loop: ObjectIdentifier(loop))
        let now = NIODeadline.now()
        let (reused, expired) = idle.withLock { idle -> ((any Channel)?, [any Channel]) in
            // The most recently released first: the older ones are the likelier to have expired.
            var expired: [any Channel] = []
            while let pooled = idle[key]?.popLast() {
                guard pooled.channel.isActive else { continue }
                guard now - pooled.released < reuseWindow else {
                    expired.append(pooled.channel)
                    // Released before this one: expired too.
                    expired += (idle[key] ?? []).map(\.channel)
                    idle[key] = []
                    break
                }
                return (pooled.channel, expired)
            }
            return (nil, expired)
        }
        for channel in expired { channel.close(promise: nil) }
        return reused
    }

    private func connect(to target: KeepAliveTarget, on loop: any EventLoop, key: PoolKey) async throws
        -> any Channel
    {
        let (maxBodyBytes, idleTimeout, closeCheckAge) = (self.maxBodyBytes, self.idleTimeout, self.closeCheckAge)
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        KeepAliveExchangeHandler(
                            maxBodyBytes: maxBodyBytes, idleTimeout: idleTimeout, closeCheckAge: closeCheckAge))
                }
            }
            .connect(host: target.host, port: target.port)
            .get()
        let id = ObjectIdentifier(channel)
        open.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            self.open.withLock { _ = $0.removeValue(forKey: id) }
            self.idle.withLock { idle in idle[key]?.removeAll { ObjectIdentifier($0.channel) == id } }
        }
        try await channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: KeepAliveExchangeHandler.self)
            handler.onIdle = { [weak self] in self?.release(channel, key: key) }
        }.get()
        return channel
    }

    private func release(_ channel: any Channel, key: PoolKey) {
        let kept = idle.withLock { idle in
            guard idle[key, default: []].count < Self.maxIdlePerLoop else { return false }
            idle[key, default: []].append(Pooled(channel: channel, released: .now()))
            return true
        }
        if !kept { channel.close(promise: nil) }
    }
}
