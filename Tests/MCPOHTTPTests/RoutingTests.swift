import JSONValue
import MCPClient
import NIOHTTP1
import Testing

@testable import MCPOHTTP

@Suite("routing, in process")
struct RoutingTests {
    let upstream = TestUpstream(tools: [TestTools.echo, TestTools.noArguments]) { request in
        TestTools.text(request.arguments["text"]?.stringValue ?? "pong")
    }

    @Test("a tool answers POST with its mapped result; the arguments reach it as the caller wrote them")
    func toolCall() async {
        let face = Face(upstream: upstream)
        let answer = await face.request(.POST, "/echo", body: #" {"text": "caf\u00e9"} "#)
        #expect(answer.status == 200)
        #expect(answer.json == "café")
        #expect(answer.header("content-type") == "application/json")
        let sent = upstream.received.last
        #expect(sent?.name == "echo")
        #expect(sent?.arguments == ["text": "café"])
        #expect(
            sent.flatMap { $0.argumentsText.map { String(decoding: $0, as: UTF8.self) } } == #" {"text": "caf\u00e9"} "#
        )
    }

    @Test("other methods on a tool: 405 with Allow; unknown paths 404; a trailing slash redirects")
    func methodsAndPaths() async {
        let face = Face(upstream: upstream)
        let get = await face.request(.GET, "/echo")
        #expect(get.status == 405)
        #expect(get.header("allow") == "POST")
        #expect(get.json == ["detail": "Method Not Allowed"])
        let missing = await face.request(.POST, "/nothing")
        #expect(missing.status == 404)
        #expect(missing.json == ["detail": "Not Found"])
        let slash = await face.request(.GET, "/openapi.json/?x=1")
        #expect(slash.status == 307)
        #expect(slash.header("location") == "/openapi.json?x=1")
        #expect(upstream.received.isEmpty)
    }

    @Test("documents, health and readiness are served to GET and HEAD, not POST")
    func documents() async throws {
        let face = Face(upstream: upstream)
        let document = await face.request(.GET, "/openapi.json")
        #expect(document.status == 200)
        let json = try #require(document.json)
        #expect(json["paths"]?["/echo"]?["post"] != nil)
        #expect(json["paths"]?["/ping"]?["post"] != nil)
        #expect(await face.request(.HEAD, "/openapi.json").status == 200)
        #expect(await face.request(.POST, "/openapi.json").status == 405)
        #expect(await face.request(.GET, "/docs").header("content-type") == "text/html; charset=utf-8")
        #expect(await face.request(.GET, "/healthz").json == ["status": "ok"])
        #expect(await face.request(.GET, "/readyz").json == ["ready": true])
    }

    @Test("--root-path: routes answer with and without the prefix; escaped paths are decoded")
    func rootPathAndEscapes() async {
        let face = Face(upstream: upstream) { $0.rootPath = "/api" }
        #expect(await face.post("/api/echo", ["text": "a"]).json == "a")
        #expect(await face.post("/echo", ["text": "b"]).json == "b")
        #expect(await face.post("/%65cho", ["text": "c"]).json == "c")
        #expect(await face.request(.GET, "/api").status == 404)
    }

    @Test("the absolute form of a request target routes like its origin form")
    func absoluteForm() {
        #expect(ProxyRequest.originForm("http://host:8000/echo?x=1") == "/echo?x=1")
        #expect(ProxyRequest.originForm("http://host:8000?x=1") == "/?x=1")
        #expect(ProxyRequest.originForm("http://host:8000") == "/")
        #expect(ProxyRequest.originForm("/echo") == "/echo")
        #expect(ProxyRequest.originForm("*") == "*")
    }

    @Test("a request's path and query are split once, the query kept as sent")
    func pathAndQuery() {
        let request = ProxyRequest(
            method: .GET, target: "/oauth/x/callback?code=a%20b&state=s", headers: [:], body: .init(),
            connection: Face.connection())
        #expect(request.path == "/oauth/x/callback")
        #expect(request.query == "code=a%20b&state=s")
    }

    @Test("a tool without arguments takes any body, and its server gets {}")
    func noArguments() async {
        let face = Face(upstream: upstream)
        let answer = await face.request(.POST, "/ping", body: "whatever")
        #expect(answer.status == 200)
        #expect(answer.json == "pong")
        #expect(upstream.received.last?.arguments == [:])
    }
}
