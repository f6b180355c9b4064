import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TestSupport
import Testing

@testable import MCPClient

@Suite("the keep-alive pool of plain http POSTs")
struct KeepAlivePoolTests {
    /// Three requests one after the other (an `initialize` needs no session); the ports the server saw them come from.
    /// Idle connections stay open for 10 minutes (this server keeps them as long): only the window decides, however
    /// long a busy machine takes between two requests.
    private func pingPorts(_ peer: PythonPeer, reuseWindow: TimeAmount, tag: String) async throws -> [Int] {
        let client = KeepAliveHTTPClient(
            group: MultiThreadedEventLoopGroup.singleton, connectTimeout: .seconds(30), maxBodyBytes: 1 << 20,
            reuseWindow: reuseWindow, idleTimeout: .seconds(600))
        let url = try #require(URL(string: peer.url("/mcp-json")))
        let target = try #require(KeepAliveTarget(url))
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Accept", value: "application/json, text/event-stream")
        let loop = MultiThreadedEventLoopGroup.singleton.next()  // connections are pooled per loop
        for index in 0..<3 {
            let body = ByteBuffer(
                string: #"{"jsonrpc":"2.0","id":"\#(tag)-\#(index)","method":"initialize","params":{}}"#)
            let answer = try await client.execute(
                .POST, target, headers: headers, body: body, deadline: .now() + .seconds(60),
                preferring: loop)
            #expect(answer.head.status == .ok)
        }
        await client.shutdown()
        return try await peer.requestLog().filter {
            (($0["body"] as? [String: Any])?["id"] as? String)?.hasPrefix(tag + "-") == true
        }.compactMap { $0["peer"] as? Int }
    }

    @Test("a connection carries the next request within the reuse window of its last answer, never after it")
    func reuseWindow() async throws {
        try await withPeer(try await PythonPeer.behaviors()) { peer in
            let reused = try await pingPorts(peer, reuseWindow: .seconds(600), tag: "kept")
            #expect(reused.count == 3)
            #expect(Set(reused).count == 1, "\(reused)")
            // A window already over when the next request goes out: however soon that is, a new connection.
            let fresh = try await pingPorts(peer, reuseWindow: .zero, tag: "fresh")
            #expect(fresh.count == 3)
            #expect(Set(fresh).count == 3, "\(fresh)")
        }
    }
}
