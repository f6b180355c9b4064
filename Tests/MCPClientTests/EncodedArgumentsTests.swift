import JSONValue
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import MCPClient

/// What goes on the wire is only visible to the transport: this one keeps the messages it is given and answers
/// each request with an empty result.
private final class RecordingTransport: MCPTransport {
    let sent = Mutex<[String]>([])
    let receiver: any TransportReceiver

    init(receiver: any TransportReceiver) { self.receiver = receiver }

    func send(_ message: OutboundMessage) -> EventLoopFuture<Void> {
        sent.withLock { $0.append(String(buffer: message.body)) }
        if case .request(let id) = message.kind {
            receiver.receive(message: ByteBuffer(string: #"{"jsonrpc":"2.0","id":\#(id),"result":{"content":[]}}"#))
        }
        return MultiThreadedEventLoopGroup.singleton.next().makeSucceededFuture(())
    }

    func shutdown() async {}
}

@Suite("Arguments sent as the caller wrote them")
struct EncodedArgumentsTests {
    @Test("a request's encoded member is written as it is, after the other params, progress token included")
    func encodedMemberOnTheWire() async throws {
        let box = Mutex<RecordingTransport?>(nil)
        let (connection, _) = try await RPCConnection.open(
            serverName: "recorder", logger: Logger(label: "test"), onNotification: { _, _ in }, onClose: { _ in },
            connect: { receiver in
                let transport = RecordingTransport(receiver: receiver)
                box.withLock { $0 = transport }
                return transport
            })
        let text = Array(#" {"text": "caf\u00e9", "n": 1.50} "#.utf8)
        _ = try await connection.detailedRequest(
            "tools/call", params: ["name": "echo"], encodedMember: .init(key: "arguments", text: text), timeout: 10,
            onProgress: { _ in })
        _ = try await connection.detailedRequest("tools/list", params: nil, timeout: 10)
        let sent = try #require(box.withLock { $0 }).sent.withLock { $0 }
        #expect(
            sent == [
                #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":1},"arguments": {"text": "caf\u00e9", "n": 1.50} }}"#,
                #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            ])
        #expect(
            try JSON.parse(sent[0])["params"]?["arguments"] == [
                "text": "café", "n": .number(JSONNumber(uncheckedText: "1.50")),
            ])
        await connection.close(reason: "done")
    }
}
