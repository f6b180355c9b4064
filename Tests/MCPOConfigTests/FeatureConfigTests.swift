import MCPOConfig
import Testing

/// `exposeResources`, `exposePrompts` and `roots` of a server entry.
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
}
