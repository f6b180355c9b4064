import Foundation
import JSONValue
import MCPOIdentity
import NIOHTTP1
import Testing

@testable import MCPOHTTP

@Suite("authentication and CORS, in process")
struct AuthenticationTests {
    let upstream = TestUpstream(tools: [TestTools.echo]) { request in
        TestTools.text(request.arguments["text"]?.stringValue ?? "")
    }

    @Test("API keys: 401 with a challenge, 403 when wrong, any of several keys, documents public")
    func apiKeys() async {
        let face = Face(upstream: upstream) { $0.apiKeys = ["top-secret", "second-key"] }
        let missing = await face.post("/echo", ["text": "hi"])
        #expect(missing.status == 401)
        #expect(missing.header("www-authenticate") == "Bearer")
        #expect(missing.json == ["detail": "Missing or invalid Authorization header"])
        let wrong = await face.post("/echo", ["text": "hi"], headers: [("Authorization", "Bearer nope")])
        #expect(wrong.status == 403)
        #expect(wrong.json == ["detail": "Invalid API key"])
        #expect(await face.post("/echo", ["text": "a"], headers: [("Authorization", "Bearer top-secret")]).json == "a")
        #expect(
            await face.post("/echo", ["text": "b"], headers: [("Authorization", "bearer  second-key ")]).json == "b")
        let basic = "Basic " + Data("u:top-secret".utf8).base64EncodedString()
        #expect(await face.post("/echo", ["text": "c"], headers: [("Authorization", basic)]).status == 401)
        #expect(await face.request(.GET, "/openapi.json").status == 200)
        #expect(upstream.received.count == 2, "refused calls never reach the server")
    }

    @Test("a refused call is refused before its method and body are looked at")
    func refusalComesFirst() async {
        let face = Face(upstream: upstream) { $0.apiKeys = ["k"] }
        #expect(await face.request(.GET, "/echo").status == 401)
        #expect(await face.request(.POST, "/echo", body: "not json").status == 401)
        #expect(await face.request(.GET, "/echo", headers: [("Authorization", "Bearer k")]).status == 405)
    }

    @Test("strict auth guards every route, takes Basic <any>:<key> everywhere, never OPTIONS")
    func strict() async {
        let face = Face(upstream: upstream) {
            $0.apiKeys = ["top-secret"]
            $0.strictAuth = true
        }
        let docs = await face.request(.GET, "/docs")
        #expect(docs.status == 401)
        #expect(docs.header("www-authenticate") == "Bearer, Basic")
        let basic = "Basic " + Data("anyone:top-secret".utf8).base64EncodedString()
        #expect(await face.request(.GET, "/openapi.json", headers: [("Authorization", basic)]).status == 200)
        #expect(await face.post("/echo", ["text": "b"], headers: [("Authorization", basic)]).json == "b")
        let wrongBasic = "Basic " + Data("a:b".utf8).base64EncodedString()
        let wrong = await face.request(.GET, "/docs", headers: [("Authorization", wrongBasic)])
        #expect(wrong.status == 403)
        #expect(wrong.json == ["detail": "Invalid credentials"])
        let garbage = await face.request(.GET, "/docs", headers: [("Authorization", "Basic !!!")])
        #expect(garbage.status == 401)
        #expect(garbage.json == ["detail": "Invalid Basic Authentication format"])
        let other = await face.request(.GET, "/docs", headers: [("Authorization", "Digest x")])
        #expect(other.json == ["detail": "Unsupported authorization method"])
        let preflight = await face.request(
            .OPTIONS, "/echo", headers: [("Origin", "http://ui.example"), ("Access-Control-Request-Method", "POST")])
        #expect(preflight.status == 200)
    }

    @Test("the caller of a key is named cli, with every scope")
    func callerName() async {
        let face = Face(upstream: upstream) { $0.apiKeys = ["k"] }
        let identity = try? await face.credentials.check.authenticator.authenticate(
            authorization: "Bearer k", openWebUIUser: nil
        ).get()
        #expect(identity?.credential == .apiKey(name: "cli"))
        #expect(identity?.scopes.allows("anything:at-all") == true)
    }

    @Test("CORS: any origin echoed by default; a list is enforced on preflight; answers are decorated")
    func cors() async {
        let face = Face(upstream: upstream)
        let preflight = await face.request(
            .OPTIONS, "/echo",
            headers: [
                ("Origin", "http://ui.example"), ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "authorization,content-type"),
            ])
        #expect(preflight.status == 200)
        #expect(preflight.body == "OK")
        #expect(preflight.header("access-control-allow-origin") == "http://ui.example")
        #expect(preflight.header("access-control-allow-headers") == "authorization,content-type")
        #expect(preflight.header("access-control-allow-methods") == CORSPolicy.allowedMethods)
        let simple = await face.post("/echo", ["text": "c"], headers: [("Origin", "http://ui.example")])
        #expect(simple.header("access-control-allow-origin") == "http://ui.example")
        #expect(simple.header("access-control-allow-credentials") == "true")
        #expect(simple.header("vary") == "Origin")

        let listed = Face(upstream: upstream) { $0.corsAllowOrigins = ["http://good.example"] }
        let refused = await listed.request(
            .OPTIONS, "/echo", headers: [("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST")])
        #expect(refused.status == 400)
        #expect(refused.body == "Disallowed CORS origin")
        let plain = await listed.post("/echo", ["text": "d"], headers: [("Origin", "http://evil.example")])
        #expect(plain.status == 200)
        #expect(plain.header("access-control-allow-origin") == nil)
        #expect(plain.header("vary") == "Origin")
        let tooLarge = listed.responder.bodyTooLarge(
            ProxyRequest(
                method: .POST, target: "/echo", headers: HTTPHeaders([("Origin", "http://good.example")]),
                body: .init(),
                connection: Face.connection()))
        #expect(tooLarge.status.code == 413)
        #expect(tooLarge.headers.first(name: "access-control-allow-origin") == "http://good.example")
    }
}
