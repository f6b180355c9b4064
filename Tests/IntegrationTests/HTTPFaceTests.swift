import Foundation
import JSONValue
import TestSupport
import Testing

/// API keys, CORS, documents, root path, TLS and the command line, against our Swift example server.
@Suite("HTTP face")
struct HTTPFaceTests {
    let server = ["--", TestPaths.exampleServer]

    @Test("API key: 401 with a challenge, 403 when wrong, several keys, documents public")
    func apiKey() async throws {
        try await withProxy(["--api-key", "top-secret", "--api-key", "second-key"] + server) { proxy in
            let body: JSON = ["text": "hi"]
            let missing = try await TestHTTP.post(proxy, "/echo", body)
            #expect(missing.status == 401)
            #expect(missing.header("www-authenticate") == "Bearer")
            #expect(missing.json == ["detail": "Missing or invalid Authorization header"])
            let wrong = try await TestHTTP.post(proxy, "/echo", body, headers: [("Authorization", "Bearer nope")])
            #expect(wrong.status == 403)
            #expect(wrong.json == ["detail": "Invalid API key"])
            let right = try await TestHTTP.post(proxy, "/echo", body, headers: [("Authorization", "Bearer top-secret")])
            #expect(right.status == 200)
            #expect(right.json == "hi")
            let second = try await TestHTTP.post(
                proxy, "/echo", body, headers: [("Authorization", "bearer second-key")])
            #expect(second.status == 200)
            let basic = try await TestHTTP.post(
                proxy, "/echo", body,
                headers: [("Authorization", "Basic " + Data("u:top-secret".utf8).base64EncodedString())])
            #expect(basic.status == 401)
            #expect(try await TestHTTP.get(proxy, "/openapi.json").status == 200)
            #expect(try await TestHTTP.get(proxy, "/docs").status == 200)
            let document = try #require(try await TestHTTP.get(proxy, "/openapi.json").json)
            #expect(document["paths"]?["/echo"]?["post"]?["security"] == [["HTTPBearer": []]])
            #expect(document["paths"]?["/echo"]?["post"]?["responses"]?["401"] != nil)
            #expect(!proxy.logText.contains("top-secret"))
        }
    }

    @Test("strict auth guards every route, takes Basic anywhere, never OPTIONS")
    func strictAuth() async throws {
        try await withProxy(["-k", "top-secret", "--strict-auth"] + server) { proxy in
            let docs = try await TestHTTP.get(proxy, "/docs")
            #expect(docs.status == 401)
            #expect(docs.header("www-authenticate") == "Bearer, Basic")
            let basicAuth = "Basic " + Data("anyone:top-secret".utf8).base64EncodedString()
            #expect(
                try await TestHTTP.get(proxy, "/openapi.json", headers: [("Authorization", basicAuth)]).status == 200)
            let call = try await TestHTTP.post(proxy, "/echo", ["text": "b"], headers: [("Authorization", basicAuth)])
            #expect(call.status == 200)
            let wrongBasic = try await TestHTTP.get(
                proxy, "/docs", headers: [("Authorization", "Basic " + Data("a:b".utf8).base64EncodedString())])
            #expect(wrongBasic.status == 403)
            #expect(wrongBasic.json == ["detail": "Invalid credentials"])
            let garbage = try await TestHTTP.get(proxy, "/docs", headers: [("Authorization", "Basic !!!")])
            #expect(garbage.status == 401)
            #expect(garbage.json == ["detail": "Invalid Basic Authentication format"])
            let preflight = try await TestHTTP.request(
                .OPTIONS, proxy.baseURL + "/echo",
                headers: [("Origin", "http://ui.example"), ("Access-Control-Request-Method", "POST")])
            #expect(preflight.status == 200)
        }
    }

    @Test("CORS: any origin by default; explicit lists enforced on preflight")
    func cors() async throws {
        try await withProxy(server) { proxy in
            let preflight = try await TestHTTP.request(
                .OPTIONS, proxy.baseURL + "/echo",
                headers: [
                    ("Origin", "http://ui.example"), ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", "authorization,content-type"),
                ])
            #expect(preflight.status == 200)
            #expect(preflight.header("access-control-allow-origin") == "http://ui.example")
            #expect(preflight.header("access-control-allow-headers") == "authorization,content-type")
            let simple = try await TestHTTP.post(
                proxy, "/echo", ["text": "c"], headers: [("Origin", "http://ui.example")])
            #expect(simple.header("access-control-allow-origin") == "http://ui.example")
            #expect(simple.header("access-control-allow-credentials") == "true")
        }
        try await withProxy(["--cors-allow-origins", "http://a.example"] + server) { proxy in
            let denied = try await TestHTTP.request(
                .OPTIONS, proxy.baseURL + "/echo",
                headers: [("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST")])
            #expect(denied.status == 400)
            #expect(denied.text == "Disallowed CORS origin")
            let allowed = try await TestHTTP.post(
                proxy, "/echo", ["text": "c"], headers: [("Origin", "http://a.example")])
            #expect(allowed.header("access-control-allow-origin") == "http://a.example")
            let other = try await TestHTTP.post(
                proxy, "/echo", ["text": "c"], headers: [("Origin", "http://evil.example")])
            #expect(other.status == 200)
            #expect(other.header("access-control-allow-origin") == nil)
        }
    }

    @Test("documents, flags over serverInfo, root path and offline docs assets")
    func documents() async throws {
        let assets = FileManager.default.temporaryDirectory.appendingPathComponent("assets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: assets, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: assets) }
        for file in ["swagger-ui-bundle.js", "swagger-ui.css"] {
            try Data("/* \(file) */".utf8).write(to: assets.appendingPathComponent(file))
        }
        let arguments =
            ["--root-path", "/api", "--name", "My Tools", "--version", "9.9", "--docs-assets", assets.path] + server
        try await withProxy(arguments) { proxy in
            let document = try await TestHTTP.get(proxy, "/api/openapi.json")
            #expect(document.status == 200)
            #expect(document.json?["info"]?["title"] == "My Tools")
            #expect(document.json?["info"]?["version"] == "9.9")
            #expect(document.json?["servers"] == [["url": .string(proxy.baseURL + "/api")]])
            let validation = try await OpenAPIValidator.validate(document.body)
            #expect(validation.valid, "\(validation.output)")
            #expect(try await TestHTTP.get(proxy, "/openapi.json").status == 200)
            let docs = try await TestHTTP.get(proxy, "/docs")
            #expect(docs.header("content-type")?.hasPrefix("text/html") == true)
            #expect(docs.text.contains("'/api/openapi.json'") || docs.text.contains("\"/api/openapi.json\""))
            #expect(docs.text.contains("/api/docs-assets/swagger-ui-bundle.js"))
            #expect(!docs.text.contains("cdn.jsdelivr.net/npm/swagger-ui-dist"))
            let script = try await TestHTTP.get(proxy, "/docs-assets/swagger-ui-bundle.js")
            #expect(script.text == "/* swagger-ui-bundle.js */")
            #expect(try await TestHTTP.get(proxy, "/redoc").status == 200)
            #expect(try await TestHTTP.get(proxy, "/docs/oauth2-redirect").status == 200)
        }
        try await withProxy(server) { proxy in
            let document = try #require(try await TestHTTP.get(proxy, "/openapi.json").json)
            #expect(document["info"]?["title"] == "mcp-example-server")
            #expect(document["info"]?["version"] == "1.0.0")
            let docs = try await TestHTTP.get(proxy, "/docs")
            #expect(docs.text.contains("cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"))
        }
    }

    @Test("the Swift example server's tools work end to end")
    func exampleServer() async throws {
        try await withProxy(server) { proxy in
            let document = try await TestHTTP.get(proxy, "/openapi.json")
            let validation = try await OpenAPIValidator.validate(document.body)
            #expect(validation.valid, "\(validation.output)")
            let sum = try await TestHTTP.post(proxy, "/calculate", ["operation": "multiply", "a": 6, "b": 7])
            #expect(sum.status == 200)
            #expect(sum.json?["result"] == 42)
            let divide = try await TestHTTP.post(proxy, "/calculate", ["operation": "divide", "a": 1, "b": 0])
            #expect(divide.status == 500)
            let badOperation = try await TestHTTP.post(proxy, "/calculate", ["operation": "modulo", "a": 1, "b": 2])
            #expect(badOperation.status == 422)
            let swatch = try await TestHTTP.post(proxy, "/render_swatch", ["color": "#ff8800"])
            #expect(swatch.json?.stringValue?.hasPrefix("data:image/png;base64,") == true)
            let event = try await TestHTTP.post(
                proxy, "/create_event",
                ["title": "Standup", "start": "2026-11-21T09:00:00Z", "priority": "normal", "duration_minutes": 1])
            #expect(event.status == 422)
            #expect(event.json?["detail"]?[0]?["loc"] == ["body", "duration_minutes"])
        }
    }

    @Test("raw HTTP/1.1: absolute-form targets, Date and Server headers, keep-alive, 100-continue, a bad request line")
    func rawRequests() async throws {
        try await withProxy(server) { proxy in
            let body = #"{"text":"abs"}"#
            let absolute = try await RawHTTP.exchange(
                port: proxy.port,
                "POST http://127.0.0.1:\(proxy.port)/echo?unused=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            #expect(absolute.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(absolute)")
            #expect(absolute.hasSuffix("\r\n\r\n\"abs\""), "\(absolute)")

            let twoInARow = try await RawHTTP.exchange(
                port: proxy.port,
                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(twoInARow.components(separatedBy: "HTTP/1.1 200 OK").count == 3, "\(twoInARow)")
            #expect(twoInARow.contains("\r\nServer: swift-mcpo\r\n"))
            let dateLine = try #require(
                twoInARow.components(separatedBy: "\r\n").first { $0.hasPrefix("Date: ") }, "\(twoInARow)")
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            let date = try #require(formatter.date(from: String(dateLine.dropFirst(6))), "\(dateLine)")
            #expect(abs(date.timeIntervalSinceNow) < 30, "RFC 9110 date of now: \(dateLine)")

            // A client that asks before sending its body gets `100 Continue` at once (curl waits a second without).
            let asking = try await RawHTTP.exchange(
                port: proxy.port,
                "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(body.utf8.count)\r\n"
                    + "Connection: close\r\n\r\n\(body)")
            #expect(asking.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), "\(asking)")

            let badMethod = try await RawHTTP.exchange(port: proxy.port, "G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(badMethod.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(badMethod)")
        }
    }

    @Test("HTTPS with --ssl-certfile and --ssl-keyfile")
    func tls() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = try await ProcessRunner.run(
            "/usr/bin/env",
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days",
                "1", "-subj", "/CN=127.0.0.1",
            ])
        try #require(openssl.status == 0, "openssl is needed for this test: \(openssl.output)")
        try await withProxy(["--ssl-certfile", cert, "--ssl-keyfile", key] + server, scheme: "https") { proxy in
            let reply = try await TestHTTP.post(proxy, "/echo", ["text": "secure"])
            #expect(reply.status == 200)
            #expect(reply.json == "secure")
        }
    }

    @Test("command line errors are clear and exit non-zero")
    func commandLine() async throws {
        for (arguments, expected) in [
            ([String](), "after '--'"),
            (["--server-type", "carrier-pigeon", "--", "x"], "Unknown --server-type"),
            (["-e", "NOEQUALS", "--", TestPaths.exampleServer], "KEY=VALUE"),
        ] {
            let outcome = try await ProcessRunner.run(TestPaths.mcpo, arguments)
            let output = outcome.output
            #expect(outcome.status != 0, "\(arguments)")
            #expect(output.contains(expected), "\(arguments): \(output)")
        }
    }
}
