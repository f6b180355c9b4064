import Foundation
import JSONValue
import TestSupport
import Testing

/// `--config`: many servers under `/<name>/`, an aggregated document, health, and hot reload with real files.
@Suite("config mode and hot reload")
struct ConfigModeTests {
    /// A config folder that is removed when the test ends.
    final class ConfigFolder: Sendable {
        let url: URL
        var file: String { url.appendingPathComponent("mcp.json").path }

        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("mcpo-config-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(at: url) }

        /// Writes like an editor does: a new file renamed over the old one.
        func write(_ text: String, to path: String? = nil) throws {
            let target = path ?? file
            let temporary = target + ".tmp-\(UUID().uuidString)"
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, target) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    static func exampleEntry() -> String {
        #"{"command": "\#(TestPaths.exampleServer)"}"#
    }

    static func fastEntry(env: String = "one", extra: String = "") -> String {
        let server = PythonLine.mcp1.fastMCPServer
        return #"{"command": "\#(server[0])", "args": ["\#(server[1])"], "env": {"FIXTURE_VALUE": "\#(env)"}\#(extra)}"#
    }

    @Test("servers under /<name>/, a failing one isolated, an aggregated and valid root document")
    func serving() async throws {
        let folder = try ConfigFolder()
        try folder.write(
            """
            {
              // comments and trailing commas are fine
              "mcpServers": {
                "example": \(Self.exampleEntry()),
                "fast": \(Self.fastEntry(extra: #", "disabledTools": ["crash"]"#)),
                "broken": {"command": "no-such-command-for-mcpo-tests"},
              }
            }
            """)
        try await withProxy(["--config", folder.file, "--startup-timeout", "120"]) { proxy in
            // Under a loaded machine the Python server may still be starting; readiness says when it is up.
            var ready = try await TestHTTP.get(proxy, "/readyz")
            _ = try await pollUntil(within: .seconds(120)) {
                ready = try await TestHTTP.get(proxy, "/readyz")
                return ready.json?["servers"]?["fast"]?["state"] == "connected"
                    && ready.json?["servers"]?["example"]?["state"] == "connected"
            }
            #expect(ready.status == 200, "\(ready.text)")
            #expect(ready.json?["servers"]?["example"]?["state"] == "connected")
            #expect(ready.json?["servers"]?["fast"]?["state"] == "connected")
            let brokenState = ready.json?["servers"]?["broken"]?["state"]?.stringValue
            #expect(brokenState == "reconnecting" || brokenState == "failed")
            #expect(try await TestHTTP.get(proxy, "/healthz").status == 200)

            let echo = try await TestHTTP.post(proxy, "/example/echo", ["text": "hi"])
            #expect(echo.json == "hi")
            let add = try await TestHTTP.post(proxy, "/fast/add", ["a": 1, "b": 2])
            #expect(add.json == 3)
            let env = try await TestHTTP.post(proxy, "/fast/env_var", ["name": "FIXTURE_VALUE"])
            #expect(env.json == "one")
            #expect(try await TestHTTP.post(proxy, "/fast/crash").status == 404)
            let broken = try await TestHTTP.post(proxy, "/broken/anything", [:])
            #expect(broken.status == 503)
            #expect(broken.json?["detail"]?["message"]?.stringValue?.contains("no-such-command-for-mcpo-tests") == true)

            let serverDocument = try await TestHTTP.get(proxy, "/fast/openapi.json")
            // An absolute URL, as the caller reached the proxy (Dify and LibreChat need one).
            #expect(serverDocument.json?["servers"] == [["url": .string(proxy.baseURL + "/fast")]])
            #expect(serverDocument.json?["paths"]?["/add"]?["post"]?["operationId"] == "tool_add_post")
            #expect(try await OpenAPIValidator.validate(serverDocument.body).valid)

            let root = try await TestHTTP.get(proxy, "/openapi.json")
            let validation = try await OpenAPIValidator.validate(root.body)
            #expect(validation.valid, "\(validation.output)")
            let paths = try #require(root.json?["paths"]?.objectValue)
            #expect(paths["/example/echo"] != nil)
            #expect(paths["/fast/add"] != nil)
            #expect(paths["/fast/crash"] == nil)
            let operationIds = paths.values.compactMap { $0["post"]?["operationId"]?.stringValue }
            #expect(Set(operationIds).count == operationIds.count)
            #expect(operationIds.contains("tool_fast_add_post"))
            let description = root.json?["info"]?["description"]?.stringValue ?? ""
            #expect(description.contains("[example](/example/docs)"))
            #expect(try await TestHTTP.get(proxy, "/fast/docs").text.contains("/fast/openapi.json"))
        }
    }

    @Test("--path-prefix and --root-path place every server's routes and documents")
    func prefixes() async throws {
        let folder = try ConfigFolder()
        try folder.write(#"{"mcpServers": {"example": \#(Self.exampleEntry())}}"#)
        try await withProxy(["--config", folder.file, "--path-prefix", "tools", "--root-path", "/api"]) { proxy in
            #expect(try await TestHTTP.post(proxy, "/tools/example/echo", ["text": "p"]).json == "p")
            #expect(try await TestHTTP.post(proxy, "/api/tools/example/echo", ["text": "p"]).json == "p")
            let document = try await TestHTTP.get(proxy, "/tools/example/openapi.json")
            #expect(document.json?["servers"] == [["url": .string(proxy.baseURL + "/api/tools/example")]])
            let forwarded = try await TestHTTP.get(
                proxy, "/tools/example/openapi.json",
                headers: [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "tools.example.com")])
            #expect(forwarded.json?["servers"] == [["url": "https://tools.example.com/api/tools/example"]])
            let odd = try await TestHTTP.get(
                proxy, "/tools/example/openapi.json", headers: [("X-Forwarded-Host", "evil.example/#")])
            #expect(odd.json?["servers"] == [["url": "/api/tools/example"]], "a host that is no host is not echoed")
            let root = try await TestHTTP.get(proxy, "/openapi.json")
            #expect(root.json?["paths"]?["/tools/example/echo"] != nil)
        }
    }

    @Test("invalid config files stop the start with the file, server and key named")
    func invalidConfig() async throws {
        let folder = try ConfigFolder()
        try folder.write(#"{"mcpServers": {"bad": {"command": 42}}}"#)
        let outcome = try await ProcessRunner.run(TestPaths.mcpo, ["--port", "0", "--config", folder.file])
        let output = outcome.output
        #expect(outcome.status == 1)
        #expect(output.contains(folder.file))
        #expect(output.contains("bad"))
        #expect(output.contains("command"))
    }

    @Test("hot reload: add, change with a call in flight, invalid edit, remove")
    func hotReload() async throws {
        let folder = try ConfigFolder()
        try folder.write(#"{"mcpServers": {"fast": \#(Self.fastEntry(env: "one"))}}"#)
        try await withProxy(["--config", folder.file, "--hot-reload"]) { proxy in
            #expect(try await TestHTTP.post(proxy, "/fast/env_var", ["name": "FIXTURE_VALUE"]).json == "one")

            // Added: served within a bound, and the root document follows.
            try folder.write(
                #"{"mcpServers": {"fast": \#(Self.fastEntry(env: "one")), "example": \#(Self.exampleEntry())}}"#)
            #expect(
                try await pollUntil {
                    try await TestHTTP.post(proxy, "/example/echo", ["text": "new"]).status == 200
                })
            #expect(try await TestHTTP.get(proxy, "/openapi.json").json?["paths"]?["/example/echo"] != nil)

            // Changed while a call is in flight: the call completes, then the new instance serves.
            let marker = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
                .path
            defer { try? FileManager.default.removeItem(atPath: marker) }
            let inFlight = Task {
                try await TestHTTP.post(proxy, "/fast/marked_wait", ["seconds": 2, "marker": .string(marker)])
            }
            #expect(await pollUntil(within: .seconds(60)) { FileManager.default.fileExists(atPath: marker) })
            try folder.write(
                #"{"mcpServers": {"fast": \#(Self.fastEntry(env: "two")), "example": \#(Self.exampleEntry())}}"#)
            let finished = try await inFlight.value
            #expect(finished.status == 200, "\(finished.text)")
            #expect(finished.json == "finished")
            #expect(
                try await pollUntil {
                    try await TestHTTP.post(proxy, "/fast/env_var", ["name": "FIXTURE_VALUE"]).json == "two"
                })

            // Changed to something that cannot start: the old instance keeps serving.
            try folder.write(
                #"{"mcpServers": {"fast": {"command": "no-such-command-for-mcpo-tests"}, "example": \#(Self.exampleEntry())}}"#
            )
            #expect(await proxy.waitForLog("failed fast"))
            #expect(try await TestHTTP.post(proxy, "/fast/env_var", ["name": "FIXTURE_VALUE"]).json == "two")

            // Invalid: logged and ignored; everything keeps serving.
            try folder.write(#"{"mcpServers": {"fast": "#)
            #expect(await proxy.waitForLog("rejected"))
            #expect(try await TestHTTP.post(proxy, "/example/echo", ["text": "still"]).json == "still")

            // Removed: gone within a bound, the other untouched.
            try folder.write(#"{"mcpServers": {"fast": \#(Self.fastEntry(env: "two"))}}"#)
            #expect(
                try await pollUntil {
                    try await TestHTTP.post(proxy, "/example/echo", ["text": "gone"]).status == 404
                })
            #expect(try await TestHTTP.post(proxy, "/fast/env_var", ["name": "FIXTURE_VALUE"]).json == "two")
            #expect(proxy.logText.contains("removed example"))
        }
    }

    @Test("hot reload follows a Kubernetes-style symlink swap; SIGHUP reloads without --hot-reload")
    func symlinkSwapAndSighup() async throws {
        let folder = try ConfigFolder()
        let first = folder.url.appendingPathComponent("..data-1")
        let second = folder.url.appendingPathComponent("..data-2")
        try FileManager.default.createDirectory(at: first, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: second, withIntermediateDirectories: true)
        try folder.write(
            #"{"mcpServers": {"a": \#(Self.exampleEntry())}}"#, to: first.appendingPathComponent("mcp.json").path)
        try folder.write(
            #"{"mcpServers": {"b": \#(Self.exampleEntry())}}"#, to: second.appendingPathComponent("mcp.json").path)
        let dataLink = folder.url.appendingPathComponent("..data").path
        try FileManager.default.createSymbolicLink(atPath: dataLink, withDestinationPath: "..data-1")
        try FileManager.default.createSymbolicLink(atPath: folder.file, withDestinationPath: "..data/mcp.json")

        try await withProxy(["--config", folder.file, "--hot-reload"]) { proxy in
            #expect(try await TestHTTP.post(proxy, "/a/echo", ["text": "1"]).status == 200)
            // Swap ..data atomically, as the kubelet does.
            let temporaryLink = folder.url.appendingPathComponent("..data_tmp").path
            try FileManager.default.createSymbolicLink(atPath: temporaryLink, withDestinationPath: "..data-2")
            #expect(rename(temporaryLink, dataLink) == 0)
            #expect(
                try await pollUntil { try await TestHTTP.post(proxy, "/b/echo", ["text": "2"]).status == 200 })
            #expect(try await TestHTTP.post(proxy, "/a/echo", ["text": "1"]).status == 404)
        }

        let plain = try ConfigFolder()
        try plain.write(#"{"mcpServers": {"a": \#(Self.exampleEntry())}}"#)
        try await withProxy(["--config", plain.file]) { proxy in
            try plain.write(#"{"mcpServers": {"c": \#(Self.exampleEntry())}}"#)
            kill(proxy.process.processIdentifier, SIGHUP)
            #expect(
                try await pollUntil { try await TestHTTP.post(proxy, "/c/echo", ["text": "x"]).status == 200 })
            // Without --hot-reload only the signal reloaded: the edit itself was not followed.
            #expect(proxy.logText.contains("reload (SIGHUP)"))
            #expect(!proxy.logText.contains("reload (file change)"), "\(proxy.logText)")
        }
    }
}
