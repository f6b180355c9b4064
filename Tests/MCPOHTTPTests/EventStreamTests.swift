import JSONValue
import MCPClient
import Testing

@testable import MCPOHTTP

@Suite("progress streams, in process")
struct EventStreamTests {
    @Test("Accept: text/event-stream: progress events as the server sends them, then the result")
    func progressThenResult() async throws {
        let upstream = TestUpstream(tools: [TestTools.echo]) { request in
            request.onProgress?(["progress": 1, "total": 2])
            request.onProgress?(["progress": 2, "total": 2, "message": "done"])
            return TestTools.text(request.arguments["text"]?.stringValue ?? "")
        }
        let answer = await Face(upstream: upstream).post(
            "/echo", ["text": "hi"], headers: [("Accept", "text/event-stream")])
        #expect(answer.status == 200)
        #expect(answer.header("content-type") == "text/event-stream")
        #expect(answer.header("cache-control") == "no-cache")
        #expect(answer.header("x-accel-buffering") == "no")
        let events = answer.events
        #expect(events.map(\.name) == ["progress", "progress", "result"])
        #expect(events[0].data == ["progress": 1, "total": 2])
        #expect(events[2].data == "hi")
    }

    @Test("a failure after the stream began is its error event, with the status and body a plain call gets")
    func errorEvent() async {
        let upstream = TestUpstream(tools: [TestTools.echo]) { _ throws(MCPClientError) in
            throw .timedOut(seconds: 1)
        }
        let answer = await Face(upstream: upstream).post(
            "/echo", ["text": "x"], headers: [("Accept", "text/event-stream")])
        #expect(answer.status == 200)
        let events = answer.events
        #expect(events.map(\.name) == ["error"])
        #expect(
            events.first?.data == [
                "status": 504, "body": ["detail": ["message": "MCP server 'test' did not answer within 1 s"]],
            ])
    }

    @Test("a caller that accepts JSON too gets JSON; refusals before the call are never streamed")
    func whenNotStreamed() async {
        let upstream = TestUpstream(tools: [TestTools.echo]) { request in
            request.onProgress == nil ? TestTools.text("plain") : TestTools.text("streamed")
        }
        let face = Face(upstream: upstream)
        let both = await face.post("/echo", ["text": "x"], headers: [("Accept", "application/json, text/event-stream")])
        #expect(both.json == "plain")
        let invalid = await face.post("/echo", ["text": 1], headers: [("Accept", "text/event-stream")])
        #expect(invalid.status == 422)
        #expect(invalid.header("content-type") == "application/json")
    }
}
