import Foundation
import JSONValue
import TestSupport
import Testing

/// `isolation: user`: one server process per caller, against the Python SDK's servers of both lines.
@Suite("one server process per user")
struct IsolationTests {
    static func config(_ folder: AccountabilityTests.Folder, line: PythonLine, extra: String) throws {
        let server = line.fastMCPServer
        try folder.write(
            """
            {
              "auth": {"apiKeys": [{"name": "ann", "key": "ann-key"}, {"name": "bob", "key": "bob-key"},
                                   {"name": "carol", "key": "carol-key"}]},
              "mcpServers": {
                "notes": {"command": "\(server[0])", "args": ["\(server[1])"], "isolation": "user",
                          "env": {"FIXTURE_USER": "{{user}}", "FIXTURE_VALUE": "shared"}\(extra)}
              }
            }
            """)
    }

    static func count(_ proxy: ProxyProcess, as key: String) async throws -> HTTPReply {
        try await TestHTTP.post(proxy, "/notes/count_up", headers: AccountabilityTests.bearer(key))
    }

    static func ready(_ proxy: ProxyProcess) async throws -> JSON? {
        try await TestHTTP.get(proxy, "/readyz").json?["servers"]?["notes"]
    }

    @Test(
        "two users never share state; their settings come from their identity; the cap; one's crash spares the other",
        arguments: PythonLine.allCases)
    func separateProcesses(line: PythonLine) async throws {
        let folder = try AccountabilityTests.Folder()
        try Self.config(folder, line: line, extra: #", "maxInstances": 2"#)
        try await withProxy(["--config", folder.config]) { proxy in
            #expect(try await pollUntil(within: .seconds(120)) { try await Self.ready(proxy)?["state"] == "connected" })
            // The documents list the tools before anyone has called (the server's own process lists them).
            let document = try await TestHTTP.get(proxy, "/notes/openapi.json")
            #expect(document.json?["paths"]?["/count_up"] != nil)
            #expect(try await Self.ready(proxy)?["instances"] == 0)

            #expect(try await Self.count(proxy, as: "ann-key").json == 1)
            #expect(try await Self.count(proxy, as: "ann-key").json == 2)
            #expect(try await Self.count(proxy, as: "bob-key").json == 1)
            #expect(try await Self.count(proxy, as: "ann-key").json == 3)
            for (key, user) in [("ann-key", "ann"), ("bob-key", "bob")] {
                let env = try await TestHTTP.post(
                    proxy, "/notes/env_var", ["name": "FIXTURE_USER"], headers: AccountabilityTests.bearer(key))
                #expect(env.json == .string(user))
            }
            let ready = try await Self.ready(proxy)
            #expect(ready?["instances"] == 2)
            #expect(ready?["maxInstances"] == 2)

            let third = try await Self.count(proxy, as: "carol-key")
            #expect(third.status == 503, "\(third.text)")
            #expect(third.text.contains("maxInstances"), "\(third.text)")

            let crashed = try await TestHTTP.post(
                proxy, "/notes/crash", headers: AccountabilityTests.bearer("ann-key"))
            #expect(crashed.status == 502, "\(crashed.text)")
            #expect(try await Self.count(proxy, as: "bob-key").json == 2, "bob's process is untouched")
            // Ann's next call starts her a new process: her state went with the old one.
            #expect(try await Self.count(proxy, as: "ann-key").json == 1)
        }
    }

    @Test("an idle caller's process is stopped, and the next call starts a new one")
    func idleExpiry() async throws {
        let folder = try AccountabilityTests.Folder()
        try Self.config(folder, line: .mcp1, extra: #", "isolationIdleSeconds": 1"#)
        try await withProxy(["--config", folder.config]) { (proxy: ProxyProcess) async throws in
            #expect(try await pollUntil(within: .seconds(120)) { try await Self.ready(proxy)?["state"] == "connected" })
            #expect(try await Self.count(proxy, as: "ann-key").json == 1)
            #expect(await proxy.waitForLog("[notes] stopped the process of ann: no call for 1.0 s"))
            #expect(try await pollUntil { try await Self.ready(proxy)?["instances"] == 0 })
            #expect(try await Self.count(proxy, as: "ann-key").json == 1)
        }
    }

    @Test("a caller whose identity lacks a templated value is refused, saying which")
    func missingValue() async throws {
        let folder = try AccountabilityTests.Folder()
        let server = PythonLine.mcp1.fastMCPServer
        try folder.write(
            """
            {"auth": {"apiKeys": [{"name": "ann", "key": "ann-key"}]},
             "mcpServers": {"notes": {"command": "\(server[0])", "args": ["\(server[1])"], "isolation": "user",
                                      "env": {"FIXTURE_TENANT": "{{tenant}}"}}}}
            """)
        try await withProxy(["--config", folder.config]) { proxy in
            #expect(try await pollUntil(within: .seconds(120)) { try await Self.ready(proxy)?["state"] == "connected" })
            let refused = try await Self.count(proxy, as: "ann-key")
            #expect(refused.status == 403, "\(refused.text)")
            #expect(refused.text.contains("env FIXTURE_TENANT"), "\(refused.text)")
            #expect(try await Self.ready(proxy)?["instances"] == 0)
        }
    }
}
