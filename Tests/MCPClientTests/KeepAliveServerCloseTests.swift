import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import MCPClient

/// A server closes an idle keep-alive connection on its own clock (uvicorn and Node after 5 s). The race with a
/// request sent just then is staged with events: the client's event loop is held while the server closes the
/// connection, so the pool still has it as open when the next request is started on that loop.
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
        _ body: (ClosingHTTPServer, KeepAliveHTTPClient, KeepAliveTarget) async throws -> Void
    ) async throws {
        let server = try await ClosingHTTPServer.start()
        let client = KeepAliveHTTPClient(
            group: MultiThreadedEventLoopGroup.singleton, connectTimeout: .seconds(30), maxBodyBytes: 1 << 20,
            reuseWindow: .seconds(600), idleTimeout: .seconds(600))
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
    /// pooled connection. The loop has not run since the close, so the pool has not heard of it.
    private static func sendAfterServerClosed(
        _ server: ClosingHTTPServer, _ client: KeepAliveHTTPClient, _ target: KeepAliveTarget, on loop: any EventLoop
    ) async -> Result<KeepAliveAnswer, any Error> {
        let answer = loop.flatSubmit { () -> EventLoopFuture<KeepAliveAnswer> in
            let closed = DispatchSemaphore(value: 0)
            server.closeConnections().whenComplete { _ in closed.signal() }
            guard closed.wait(timeout: .now() + .seconds(60)) == .success else {
                return loop.makeFailedFuture(Failed(description: "the server did not close its connections"))
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

    @Test(
        "a request written on a connection the server has just closed fails as closed before answering, unread"
    )
    func requestMeetsTheClose() async throws {
        try await Self.withServerAndClient { server, client, target in
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
