import MCPOConfig
import Testing

/// `exposeResources`, `exposePrompts`, `roots` and `isolation` of a server entry.
@Suite struct FeatureConfigTests {
    @Test("the keys read; without them the documents stay tools-only and no roots are told")
    func keys() throws {
        let config = try ConfigLoader.parse(
            text: #"""
                {"mcpServers": {
                  "a": {"command": "x", "exposeResources": true, "exposePrompts": false,
                        "roots": [{"uri": "file:///srv/data", "name": "data"}, {"uri": "file:///tmp"}]},
                  "b": {"command": "y"}}}
                """#, path: "mcp.json", environment: [:])
        #expect(
            config.servers[0].features
                == ServerFeatureSettings(
                    exposeResources: true, exposePrompts: false,
                    roots: [ServerRoot(uri: "file:///srv/data", name: "data"), ServerRoot(uri: "file:///tmp")]))
        #expect(config.servers[1].features == ServerFeatureSettings())
        #expect(config.warnings.isEmpty, "\(config.warnings)")
    }

    @Test(
        "every wrong value named by its key",
        arguments: [
            (#"{"command": "x", "exposeResources": "yes"}"#, "exposeResources", "expected true or false, got string"),
            (#"{"command": "x", "exposePrompts": 1}"#, "exposePrompts", "expected true or false, got number 1"),
            (
                #"{"command": "x", "roots": "file:///a"}"#, "roots",
                #"expected a list of {"uri": "file:///…", "name": "…"}, got string"#
            ),
            (
                #"{"command": "x", "roots": [{"uri": "https://a"}]}"#, "roots[0].uri",
                "expected a URI starting with file://, got 'https://a'"
            ),
            (
                #"{"command": "x", "isolation": "tenant"}"#, "isolation",
                #"expected "user" (one process per caller) or "none", got string"#
            ),
            (
                #"{"type": "sse", "url": "http://h/sse", "isolation": "user"}"#, "isolation",
                #""user" is only for stdio servers: the proxy starts one process per caller"#
            ),
            (
                #"{"command": "x", "isolation": "user", "maxInstances": 0}"#, "maxInstances",
                "expected a positive whole number, got number 0"
            ),
            (
                #"{"command": "x", "isolation": "user", "env": {"A": "{{name}}"}}"#, "env.A",
                "unknown placeholder '{{name}}'; use {{user}}, {{tenant}}, {{keyName}}, {{issuer}} or {{claims.<name>}}"
            ),
            (
                #"{"command": "x", "roots": ["file:///a"]}"#, "roots[0]",
                #"expected an object such as {"uri": "file:///srv/data", "name": "data"}, got string"#
            ),
            (
                #"{"command": "x", "roots": [{"uri": "file:///a", "name": 2}]}"#, "roots[0].name",
                "expected a string, got number 2"
            ),
        ])
    func bad(entry: String, key: String, message: String) throws {
        let error = try #require(entryError(#""srv": \#(entry)"#))
        #expect(error == ConfigError(file: "mcp.json", server: "srv", key: key, message: message))
    }

    @Test("isolation: user with its bounds; the bounds and env templates without it are warned about")
    func isolation() throws {
        let config = try ConfigLoader.parse(
            text: #"""
                {"mcpServers": {
                  "a": {"command": "x", "isolation": "user", "isolationIdleSeconds": 30, "maxInstances": 5,
                        "env": {"WHO": "{{user}}"}},
                  "b": {"command": "y", "maxInstances": 5, "env": {"WHO": "{{user}}"}}}}
                """#, path: "mcp.json", environment: [:])
        #expect(config.servers[0].isolation == ServerIsolation(mode: .user, idleSeconds: 30, maxInstances: 5))
        #expect(config.servers[1].isolation == ServerIsolation(mode: .none, maxInstances: 5))
        #expect(
            config.warnings == [
                "mcp.json: server 'b': 'maxInstances' has no effect without \"isolation\": \"user\"",
                "mcp.json: server 'b': 'env.WHO' holds '{{', which is filled from the caller's identity only with "
                    + "\"isolation\": \"user\"; it is passed as written",
            ])
    }

    @Test("inlineBinaryLimit and fileTtlSeconds at the top of the file, checked")
    func binaries() throws {
        let config = try ConfigLoader.parse(
            text: #"{"inlineBinaryLimit": 4096, "fileTtlSeconds": 30, "mcpServers": {}}"#, path: "gw.json",
            environment: [:])
        #expect(config.inlineBinaryLimit == 4096)
        #expect(config.fileTtlSeconds == 30)
        for (text, key, message) in [
            (
                #"{"inlineBinaryLimit": 0, "mcpServers": {}}"#, "inlineBinaryLimit",
                "expected a positive whole number of bytes"
            ),
            (
                #"{"inlineBinaryLimit": 1.5, "mcpServers": {}}"#, "inlineBinaryLimit",
                "expected a positive whole number of bytes"
            ),
            (
                #"{"fileTtlSeconds": "ten", "mcpServers": {}}"#, "fileTtlSeconds",
                "expected a positive number of seconds"
            ),
        ] {
            #expect(throws: ConfigError(file: "gw.json", key: key, message: message)) {
                _ = try ConfigLoader.parse(text: text, path: "gw.json", environment: [:])
            }
        }
    }
}
