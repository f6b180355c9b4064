import JSONValue
import MCPOConfig
import Testing

@Suite struct ServerEntryTests {
    @Test(arguments: [
        ("stdio", "stdio"), ("sse", "sse"), ("SSE", "sse"), ("streamable-http", "streamable-http"),
        ("streamable_http", "streamable-http"), ("streamablehttp", "streamable-http"), ("http", "streamable-http"),
        ("streamableHttp", "streamable-http"),
    ])
    func typeAliases(written: String, kind: String) throws {
        let config = try parseEntries(#""a": {"type": "\#(written)", "command": "x", "url": "http://h:1/mcp"}"#)
        let entry = try #require(config.servers.first)
        #expect(entry.transport.kindName == kind)
        switch entry.transport {
        case .stdio(let command):
            #expect(command == StdioCommand(command: "x"))
            #expect(config.warnings == ["mcp.json: server 'a': 'url' is ignored for a server of type 'stdio'"])
        case .sse(let endpoint), .streamableHTTP(let endpoint):
            #expect(endpoint == RemoteEndpoint(url: "http://h:1/mcp"))
            #expect(config.warnings == ["mcp.json: server 'a': 'command' is ignored for a server of type '\(kind)'"])
        }
    }

    @Test func urlWithoutTypeIsSSE() throws {
        let config = try parseEntries(#""a": {"url": "https://h/sse", "headers": {"X": "1"}, "type": null}"#)
        #expect(config.servers.first?.transport == .sse(RemoteEndpoint(url: "https://h/sse", headers: [("X", "1")])))
        #expect(config.warnings == [])
    }

    @Test func commandAndURLWithoutTypeIsStdio() throws {
        let config = try parseEntries(#""a": {"command": "x", "url": "https://h/sse"}"#)
        #expect(config.servers.first?.transport == .stdio(StdioCommand(command: "x")))
        #expect(
            config.warnings == [
                "mcp.json: server 'a': 'url' is ignored: 'command' is present and there is no 'type', so the server "
                    + "runs over stdio (mcpo would connect to the URL over SSE); add \"type\": \"sse\" or "
                    + "\"type\": \"streamable-http\" to connect to the URL instead"
            ])
    }

    @Test func keysThatDoNotApplyToTheTransportAreWarnedAbout() throws {
        let config = try parseEntries(
            #"""
            "s": {"command": "x", "headers": {"A": "b"}, "oauth": {}},
            "r": {"type": "sse", "url": "http://h/", "args": [], "env": {}, "cwd": "d", "oauth": {}}
            """#)
        #expect(
            config.warnings == [
                "mcp.json: server 's': 'headers' is ignored for a stdio server",
                "mcp.json: server 's': 'oauth' is ignored: OAuth is only supported for streamable-http servers",
                "mcp.json: server 'r': 'args' is ignored for a server of type 'sse'",
                "mcp.json: server 'r': 'env' is ignored for a server of type 'sse'",
                "mcp.json: server 'r': 'cwd' is ignored for a server of type 'sse'",
                "mcp.json: server 'r': 'oauth' is ignored: OAuth is only supported for streamable-http servers",
            ])
        #expect(config.servers.map(\.oauth) == [[:], [:]])
    }

    @Test func unknownKeysAreWarnedAboutWithASuggestion() throws {
        let config = try parseEntries(
            #""a": {"command": "x", "arg": ["y"], "Env": {}, "envFile": ".env", "autoApprove": ["t"], "icon": "i"}"#)
        #expect(config.servers.first?.transport == .stdio(StdioCommand(command: "x")))
        #expect(
            config.warnings == [
                "mcp.json: server 'a': unknown key 'arg' is ignored (did you mean 'args'?)",
                "mcp.json: server 'a': unknown key 'Env' is ignored (did you mean 'env'?)",
                "mcp.json: server 'a': unknown key 'envFile' is ignored",
            ])
    }

    @Test func disabledEntryIsSkippedWithoutFurtherChecks() throws {
        let config = try parseEntries(
            #""off": {"disabled": true, "args": 5, "url": "${UNSET}"}, "on": {"disabled": false, "command": "x"}"#)
        #expect(config.servers.map(\.name) == ["on"])
        #expect(config.warnings == [])
    }

    @Test func camelCaseToolListsWinOverSnakeCase() throws {
        let config = try parseEntries(
            #"""
            "both": {"command": "x", "disabledTools": ["camel"], "disabled_tools": ["snake"]},
            "snake": {"command": "x", "disabled_tools": ["s"], "enabled_tools": ["e", "s"]},
            "allow": {"command": "x", "enabledTools": ["only"], "enabled_tools": ["other"]},
            "none": {"command": "x", "enabledTools": []}
            """#)
        #expect(config.servers.map(\.disabledTools) == [["camel"], ["s"], [], []])
        #expect(config.servers.map(\.enabledTools) == [nil, ["e", "s"], ["only"], []])
        #expect(config.servers[1].serves(tool: "e"))
        #expect(!config.servers[1].serves(tool: "s"))
        #expect(!config.servers[3].serves(tool: "anything"))
        #expect(
            config.warnings == [
                "mcp.json: server 'both': 'disabled_tools' is ignored because 'disabledTools' is also present",
                "mcp.json: server 'allow': 'enabled_tools' is ignored because 'enabledTools' is also present",
                "mcp.json: server 'none': 'enabledTools' is empty, so no tool of this server is served",
            ])
    }

    @Test func nullCountsAsAbsent() throws {
        let config = try parseEntries(
            #""a": {"command": "x", "args": null, "env": null, "cwd": null, "timeout": null, "disabled": null}"#)
        #expect(config.servers.first?.transport == .stdio(StdioCommand(command: "x")))
        #expect(config.servers.first?.callTimeoutSeconds == nil)
    }

    @Test func enabledHeaderForwardingIsAcceptedWithAWarning() throws {
        let config = try parseEntries(
            #"""
            "a": {"type": "sse", "url": "http://h/", "client_header_forwarding":
                {"enabled": true, "whitelist": ["authorization", "x-trace-*"], "blacklist": ["cookie"],
                 "debug_headers": false}}
            """#)
        #expect(config.servers.first?.clientHeaderForwarding?["whitelist"] == ["authorization", "x-trace-*"])
        #expect(
            config.warnings == [
                "mcp.json: server 'a': 'client_header_forwarding' is accepted for compatibility but has no effect "
                    + "(as in mcpo)"
            ])
    }

    @Test func entriesAreEqualIgnoringKeyOrder() throws {
        let first = try parseEntries(#""a": {"command": "x", "env": {"A": "1", "B": "2"}, "description": "d"}"#)
        let reordered = try parseEntries(#""a": {"description": "d", "env": {"B": "2", "A": "1"}, "command": "x"}"#)
        let otherValue = try parseEntries(#""a": {"command": "x", "env": {"A": "1", "B": "3"}, "description": "d"}"#)
        let otherIgnoredKey = try parseEntries(
            #""a": {"command": "x", "env": {"A": "1", "B": "2"}, "description": "e"}"#)
        #expect(first.servers == reordered.servers)
        #expect(first.servers != otherValue.servers)
        #expect(first.servers != otherIgnoredKey.servers)
        #expect(ServerEntry(name: "a", transport: .stdio(StdioCommand(command: "x"))).rawConfig == [:])
    }
}
