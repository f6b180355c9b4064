import JSONValue
import MCPClient
import NIOHTTP1
import Testing

@testable import MCPOHTTP

/// The resources and prompts routes in process: what goes upstream, and how answers come back.
@Suite struct FeatureRouteTests {
    static func face() -> (Face, TestUpstream) {
        var features = TestUpstream.Features()
        features.capabilities = ["resources": [:], "prompts": [:]]
        features.prompts = [["name": "greet", "arguments": [["name": "name", "required": true]]]]
        features.answer = { request throws(MCPClientError) in
            switch request.method {
            case "prompts/get": return ["messages": [["role": "user"]], "description": "d"]
            case "resources/list": return ["resources": [["uri": "a://1"]]]
            case "resources/templates/list": throw .rpc(code: -32601, message: "Method not found", data: nil)
            default: return ["contents": [["uri": "a://1", "blob": "AAEC", "mimeType": "image/png"]]]
            }
        }
        let upstream = TestUpstream(tools: [TestTools.echo], features: features) { _ in TestTools.text("x") }
        return (Face(upstream: upstream), upstream)
    }

    @Test("a prompt's request carries its name, the checked arguments and the caller's trace context")
    func promptRequest() async {
        let (face, upstream) = Self.face()
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        let answer = await face.post("/prompts/greet", ["name": "Ann"], headers: [("traceparent", traceparent)])
        #expect(answer.status == 200)
        #expect(answer.json == ["description": "d", "messages": [["role": "user"]]])
        let sent = upstream.sent
        #expect(sent.map(\.method) == ["prompts/get"])
        #expect(sent.first?.params?["name"] == "greet")
        #expect(sent.first?.params?["arguments"] == ["name": "Ann"])
        #expect(sent.first?.params?["_meta"]?["traceparent"] == .string(traceparent))
        #expect(sent.first?.headers.contains { $0.name == "traceparent" } == true)
    }

    @Test("a listing asks every method with its member; templates a server lacks are an empty list")
    func listing() async {
        let (face, upstream) = Self.face()
        let answer = await face.request(.GET, "/resources")
        #expect(answer.status == 200)
        #expect(answer.json == ["resources": [["uri": "a://1"]], "resourceTemplates": []])
        #expect(upstream.sent.map(\.listing) == ["resources", "resourceTemplates"])
    }

    @Test("one blob is answered as its bytes; the wrong method is 405 with Allow; no uri is 422, nothing sent")
    func read() async {
        let (face, upstream) = Self.face()
        let blob = await face.request(.GET, "/resources/read?uri=a%3A%2F%2F1")
        #expect(blob.status == 200)
        #expect(blob.headers.first(name: "content-type") == "image/png")
        #expect(Array(blob.body.utf8) == [0, 1, 2])
        #expect(upstream.sent.last?.params == ["uri": "a://1"])
        let posted = await face.post("/resources/read", [:])
        #expect(posted.status == 405)
        #expect(posted.headers.first(name: "allow") == "GET")
        let count = upstream.sent.count
        let missing = await face.request(.GET, "/resources/read")
        #expect(missing.status == 422)
        #expect(upstream.sent.count == count)
    }
}
