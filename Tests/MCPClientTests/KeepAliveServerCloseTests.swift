import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import MCPClient

/// A server closes an idle keep-alive connection on its own clock (uvicorn and Node after 5 s). The race with a
/// request sent just then is staged with events: the client's event loop is held while the server closes the
/// connection, so the pool still has it as open when the next request is started on that loop (as when a busy or
/// descheduled loop starts a request before it reads the close).
@Suite("a pooled connection the server has closed")
struct KeepAliveServerCloseTests {
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    private static let headers: HTTPHeaders = ["Content-Type": "application/json"]

    private static func body(_ id: Int) -> ByteBuffer {
        ByteBuffer(string: #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{}}"#)
    }

    /// Runs `body` with the server and a client whose idle connections stay in the pool for 10 minutes.
    private static func withServerAndClient(
        closeCheckAge: TimeAmount,
        _ body: (ClosingHTTPServer, KeepAliveHTTPClient, KeepAliveTarget) async throws -> Void
    ) async throws {
        let server = try await ClosingHTTPServer.start()
        let client = KeepAliveHTTPClient(
            group: MultiThreadedEventLoopGroup.singleton, connectTimeout: .seconds(30), maxBodyBytes: 1 << 20,
            reuseWindow: .seconds(600), idleTimeout: .seconds(600), closeCheckAge: closeCheckAge)
        do {
            let url = try #require(URL(string: "http://127.0.0.1:\(server.port)/mcp"))
            try await body(server, client, try #require(KeepAliveTarget(url)))
        } catch {
            await client.shutdown()
            await server.stop()
            throw error
        }
        await client.shutdown()
        await server.stop()
    }

    /// On `loop`, held meanwhile: the server closes its connections, then a request is started on the loop's idle
    /// pooled connection. The loop has not run since the close, so the pool has not heard of it. With `seenBy`, the
    /// request is started only once that connection's kernel has the server's close.
    private static func sendAfterServerClosed(
        _ server: ClosingHTTPServer, _ client: KeepAliveHTTPClient, _ target: KeepAliveTarget, on loop: any EventLoop,
        seenBy connection: (any Channel)? = nil
    ) async -> Result<KeepAliveAnswer, any Error> {
        let answer = loop.flatSubmit { () -> EventLoopFuture<KeepAliveAnswer> in
            let closed = DispatchSemaphore(value: 0)
            server.closeConnections().whenComplete { _ in closed.signal() }
            guard closed.wait(timeout: .now() + .seconds(60)) == .success else {
                return loop.makeFailedFuture(Failed(description: "the server did not close its connections"))
            }
            if let connection, !kernelHasClose(of: connection) {
                return loop.makeFailedFuture(Failed(description: "the client's kernel never had the server's close"))
            }
            guard
                let (answer, _) = client.startOnIdleConnection(
                    .POST, target, headers: headers, body: body(2), deadline: .now() + .seconds(60), preferring: loop)
            else { return loop.makeFailedFuture(Failed(description: "no idle connection in the pool")) }
            return answer
        }
        do {
            return .success(try await answer.get())
        } catch {
            return .failure(error)
        }
    }

    /// Asks the kernel (from the connection's loop) until it has the peer's close; false if it still has not after
    /// 10 s. Over loopback the close has nearly always arrived when the server's `close` returns.
    private static func kernelHasClose(of connection: any Channel) -> Bool {
        guard let socket = connection as? any SocketOptionProvider else { return false }
        let bound = ContinuousClock.now + .seconds(10)
        var closed = false
        while !closed, ContinuousClock.now < bound {
            guard KeepAliveExchangeHandler.askWhetherClosedByPeer(socket, { closed = $0 }) else { return false }
        }
        return closed
    }

    @Test(
        "unchecked, a request written on a connection the server has just closed fails as closed before answering, unread"
    )
    func requestMeetsTheClose() async throws {
        // Never asking the kernel: the pool trusts what its loop has read.
        try await Self.withServerAndClient(closeCheckAge: .hours(24)) { server, client, target in
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let first = try await client.execute(
                .POST, target, headers: Self.headers, body: Self.body(1), deadline: .now() + .seconds(60),
                preferring: loop)
            #expect(first.head.status == .ok)
            #expect(client.idleConnectionCount(host: "127.0.0.1", port: server.port) == 1)

            let outcome = await Self.sendAfterServerClosed(server, client, target, on: loop)
            #expect(throws: KeepAliveHTTPError.closedBeforeAnswer) { try outcome.get() }
            #expect(server.requestsRead == 1, "the server read the request written after its close")
        }
    }
}

extension KeepAliveServerCloseTests {
    @Test(
        "a request on an idle connection whose close the kernel has, though the loop has not read it, is not written: another connection takes it"
    )
    func closeSeenBeforeWriting() async throws {
        try await Self.withServerAndClient(closeCheckAge: .zero) { server, client, target in
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let first = try await client.execute(
                .POST, target, headers: Self.headers, body: Self.body(1), deadline: .now() + .seconds(60),
                preferring: loop)
            #expect(first.head.status == .ok)
            // A second request on the pooled connection, checked and written: the handle of that connection.
            let (second, connection) = try #require(
                client.startOnIdleConnection(
                    .POST, target, headers: Self.headers, body: Self.body(2), deadline: .now() + .seconds(60),
                    preferring: loop))
            #expect(try await second.get().head.status == .ok)
            #expect(server.requestsRead == 2)

            let outcome = await Self.sendAfterServerClosed(server, client, target, on: loop, seenBy: connection)
            // Nothing written: both ways of sending (`execute`, the transport's fast path) send it on another one.
            #expect(throws: KeepAliveHTTPError.staleConnection) { try outcome.get() }
            try await connection.closeFuture.get()
            #expect(client.idleConnectionCount(host: "127.0.0.1", port: server.port) == 0)
            let again = try await client.execute(
                .POST, target, headers: Self.headers, body: Self.body(3), deadline: .now() + .seconds(60),
                preferring: loop)
            #expect(again.head.status == .ok)
            #expect(server.requestsRead == 3, "each request read once")
        }
    }
}
