import JSONValue
import Logging
import MCPOConfig
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import MCPClient

/// A server that answers `resources/read` first with `input_required` (it wants the client's roots), then, once
/// the request comes again with the answers, with the contents.
private final class AskingTransport: MCPTransport {
    let sent = Mutex<[JSON]>([])
    let receiver: any TransportReceiver

    init(receiver: any TransportReceiver) { self.receiver = receiver }

    func send(_ message: OutboundMessage) -> EventLoopFuture<Void> {
        let body = (try? JSON.parse(message.body.readableBytesView)) ?? [:]
        sent.withLock { $0.append(body) }
        if case .request(let id) = message.kind {
            let result: JSON
            switch body["method"]?.stringValue {
            case "initialize":
                result = [
                    "protocolVersion": "2025-11-25", "capabilities": ["resources": [:]],
                    "serverInfo": ["name": "asking", "version": "1"],
                ]
            case "resources/read" where body["params"]?["inputResponses"] == nil:
                result = [
                    "resultType": "input_required", "requestState": "state-1",
                    "inputRequests": ["where": ["method": "roots/list", "params": [:]]],
                ]
            default:
                result = ["contents": [["uri": "file:///a", "text": "done"]]]
            }
            let reply: JSON = ["jsonrpc": "2.0", "id": .int(id), "result": result]
            receiver.receive(message: ByteBuffer(bytes: reply.bytes))
        }
        return MultiThreadedEventLoopGroup.singleton.next().makeSucceededFuture(())
    }

    func shutdown() async {}
}

@Suite("2026-07-28 input_required answered by the proxy")
struct InputRequiredTests {
    @Test("a resource read that needs the roots is sent again with them and the server's state, as a new request")
    func resourceRead() async throws {
        let box = Mutex<AskingTransport?>(nil)
        let client = ClientIdentity(
            name: "t", version: "0", answers: ServerRequestAnswers(roots: [ServerRoot(uri: "file:///srv", name: "srv")])
        )
        let (connection, _) = try await RPCConnection.open(
            serverName: "asking", logger: Logger(label: "test"), answers: client.answers, onNotification: { _, _ in },
            onClose: { _ in },
            connect: { receiver in
                let transport = AskingTransport(receiver: receiver)
                box.withLock { $0 = transport }
                return transport
            })
        let session = try await MCPSession.handshake(over: connection, client: client, timeout: 10)
        let result = try await session.interactiveRequest(
            "resources/read", params: ["uri": "file:///a"], timeout: 10)
        #expect(result["contents"]?[0]?["text"] == "done")
        let reads = try #require(box.withLock { $0 }).sent.withLock { $0 }.filter { $0["method"] == "resources/read" }
        #expect(reads.count == 2)
        #expect(reads[1]["params"]?["inputResponses"] == ["where": ["roots": [["uri": "file:///srv", "name": "srv"]]]])
        #expect(reads[1]["params"]?["requestState"] == "state-1")
        #expect(reads[1]["params"]?["uri"] == "file:///a")
        #expect(reads[0]["id"] != reads[1]["id"])
        await connection.close(reason: "done")
    }
}
