import Foundation
import JSONValue
import MCPOConfig
import Testing

@Suite struct ConfigFileTests {
    @Test func everyKeyInCommentedJSONWithTrailingCommas() throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "mcp.json",
            """
            {
              // mcpo's own README example has comments like this one
              "mcpServers": {
                "local": {
                  "type": "stdio",
                  "command": "node",
                  "args": ["server.js", "--port", "3000",],
                  "env": {"API_KEY": "k", "MODE": "test"},
                  "cwd": "work/../work/sub",
                  "disabledTools": ["drop"],
                  "enabledTools": ["keep", "drop"],
                  "timeout": 12.5,
                  "alwaysAllow": ["x"], "autoApprove": [], "description": "d", "icon": "i",
                  "client_header_forwarding": {"enabled": false, "whitelist": ["x-*"]},
                },
                /* a remote one */
                "remote": {
                  "type": "streamable-http",
                  "url": "https://example.com/mcp",
                  "headers": {"Authorization": "Bearer t", "X-A": "1"},
                  "disabled_tools": ["a"],
                  "timeout": 30,
                  "oauth": {"server_url": "https://example.com", "scope": ["read"]},
                },
                "parked": {"disabled": true, "command": 5},
                "legacy": {"url": "http://127.0.0.1:8001/sse"},
              },
            }
            """)
        let config = try ConfigLoader.load(path: path, environment: [:])

        #expect(config.warnings == [])
        #expect(config.servers.map(\.name) == ["local", "remote", "legacy"])

        let local = config.servers[0]
        #expect(
            local.transport
                == .stdio(
                    StdioCommand(
                        command: "node", arguments: ["server.js", "--port", "3000"],
                        environment: ["API_KEY": "k", "MODE": "test"], workingDirectory: directory.path + "/work/sub")))
        #expect(local.disabledTools == ["drop"])
        #expect(local.enabledTools == ["keep", "drop"])
        #expect(local.serves(tool: "keep"))
        #expect(!local.serves(tool: "drop"))
        #expect(!local.serves(tool: "other"))
        #expect(local.callTimeoutSeconds == 12.5)
        #expect(local.oauth == nil)
        #expect(local.clientHeaderForwarding == ["enabled": false, "whitelist": ["x-*"]])
        #expect(local.rawConfig["description"] == "d")
        #expect(local.rawConfig["icon"] == "i")
        #expect(local.rawConfig.objectValue?.keys.count == 13)

        let remote = config.servers[1]
        #expect(
            remote.transport
                == .streamableHTTP(
                    RemoteEndpoint(
                        url: "https://example.com/mcp", headers: [("Authorization", "Bearer t"), ("X-A", "1")])))
        #expect(remote.disabledTools == ["a"])
        #expect(remote.enabledTools == nil)
        #expect(remote.callTimeoutSeconds == 30)
        #expect(remote.oauth == ["server_url": "https://example.com", "scope": ["read"]])
        #expect(
            remote.rawConfig
                == [
                    "type": "streamable-http", "url": "https://example.com/mcp",
                    "headers": ["Authorization": "Bearer t", "X-A": "1"], "disabled_tools": ["a"], "timeout": 30,
                    "oauth": ["server_url": "https://example.com", "scope": ["read"]],
                ])

        #expect(config.servers[2].transport == .sse(RemoteEndpoint(url: "http://127.0.0.1:8001/sse")))
    }

    @Test func missingFile() throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        let path = directory.path + "/missing.json"
        let error = try #require(loadError(path))
        #expect(error == ConfigError(file: path, message: "Config file not found: \(path)"))
        #expect(error.description == "Config file not found: \(path)")
        #expect(
            loadError(directory.path + "/missing.json/below")?.description == "Config file not found: \(path)/below")
    }

    @Test func directoryInsteadOfFile() throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        #expect(
            loadError(directory.path)?.description == "Cannot read config file \(directory.path): it is a directory")
    }

    @Test(.enabled(if: getuid() != 0, "root reads files whatever their mode"))
    func unreadableFile() throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        let path = try directory.write("mcp.json", "{}")
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
        #expect(loadError(path)?.description == "Cannot read config file \(path): Permission denied")
    }

    @Test func notUTF8() throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        let path = directory.path + "/mcp.json"
        try Data([0x7B, 0xFF, 0x7D]).write(to: URL(fileURLWithPath: path))
        #expect(loadError(path)?.description == "Config file \(path) is not valid UTF-8 text")
    }

    @Test func jsonSyntaxErrorHasLineAndColumn() throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "mcp.json",
            """
            {
              "mcpServers": {
                "a": {"command": "x" "args": []}
              }
            }
            """)
        let error = try #require(loadError(path))
        #expect(
            error
                == ConfigError(
                    file: path,
                    message: "Invalid JSON in config file \(path): Expecting ',' delimiter at line 3, column 26",
                    line: 3, column: 26))
    }

    @Test func unterminatedBlockComment() throws {
        let error = try #require(
            throwing { try ConfigLoader.parse(text: "{\n  /* open\n}", path: "c.json", environment: [:]) })
        #expect(error.description == "Invalid JSON in config file c.json: Unterminated /* comment at line 2, column 3")
        #expect(error.line == 2)
        #expect(error.column == 3)
    }

    @Test func yamlSyntaxErrorHasLineAndColumn() throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "mcp.yaml",
            """
            mcpServers:
              a:
                command: x
               args: [y]
            """)
        let error = try #require(loadError(path))
        #expect(
            error.description
                == "Invalid YAML in config file \(path): did not find expected key at line 4, column 4 "
                + "(while parsing a block mapping at line 2, column 3)")
        #expect(error.line == 4)
        #expect(error.column == 4)
        #expect(error.server == nil)
    }

    @Test func yamlDuplicateKey() throws {
        let error = try #require(
            throwing {
                try ConfigLoader.parse(
                    text: "mcpServers:\n  a: {url: 'http://h/'}\n  a: {url: 'http://i/'}\n", path: "c.yml",
                    environment: [:])
            })
        #expect(error.description == "Invalid YAML in config file c.yml: duplicate key 'a' at line 2, column 3")
    }

    @Test(arguments: [
        ("[]", "c.json", "Config file c.json must contain an object at the top level, got list"),
        ("\"x\"", "c.json", "Config file c.json must contain an object at the top level, got string"),
        ("- a\n", "c.yaml", "Config file c.yaml must contain a mapping at the top level, got list"),
        ("", "c.yaml", "Config file c.yaml must contain a mapping at the top level, got null"),
        ("", "c.json", "Invalid JSON in config file c.json: Expecting value at line 1, column 1"),
        ("{}", "c.json", "No 'mcpServers' found in config file: c.json"),
        ("{\"servers\": {}}", "c.json", "No 'mcpServers' found in config file: c.json"),
        (
            "{\"mcpServers\": []}", "c.json",
            "'mcpServers' in config file c.json must be an object mapping server names to entries, got list"
        ),
        (
            "mcpServers: text\n", "c.yml",
            "'mcpServers' in config file c.yml must be an object mapping server names to entries, got string"
        ),
    ])
    func fileShapeErrors(text: String, path: String, message: String) throws {
        let error = try #require(throwing { try ConfigLoader.parse(text: text, path: path, environment: [:]) })
        #expect(error.description == message)
        #expect(error.message == message)
        #expect(error.file == path)
        #expect(error.server == nil)
        #expect(error.key == nil)
    }

    @Test func emptyServersIsAWarningNotAnError() throws {
        let config = try ConfigLoader.parse(text: "{\"mcpServers\": {}}", path: "c.json", environment: [:])
        #expect(config == ProxyConfig(servers: [], warnings: ["c.json: 'mcpServers' is empty; no servers are served"]))
        let yaml = try ConfigLoader.parse(text: "mcpServers:\n", path: "c.yaml", environment: [:])
        #expect(yaml == ProxyConfig(servers: [], warnings: ["c.yaml: 'mcpServers' is empty; no servers are served"]))
    }

    @Test func allDisabledIsAWarning() throws {
        let config = try parseEntries(#""a": {"disabled": true}, "b": {"disabled": true, "url": 1}"#)
        #expect(
            config
                == ProxyConfig(
                    servers: [], warnings: ["mcp.json: every server in 'mcpServers' is disabled; no servers are served"]
                ))
    }

    @Test func otherTopLevelKeysAreIgnored() throws {
        let config = try ConfigLoader.parse(
            text: #"{"globalShortcut": "x", "mcpServers": {"a": {"command": "x"}}}"#, path: "c.json",
            environment: [:])
        #expect(config.servers.map(\.name) == ["a"])
        #expect(config.warnings == [])
    }

    @Test func relativeCwdIsRelativeToTheConfigFile() throws {
        let config = try ConfigLoader.parse(
            text: #"{"mcpServers": {"a": {"command": "x", "cwd": "../data"}, "b": {"command": "x", "cwd": "/srv"}}}"#,
            path: "/etc/mcpo/mcp.json", environment: [:])
        #expect(config.servers[0].transport == .stdio(StdioCommand(command: "x", workingDirectory: "/etc/data")))
        #expect(config.servers[1].transport == .stdio(StdioCommand(command: "x", workingDirectory: "/srv")))
    }

    @Test func repositorySampleConfigsLoad() throws {
        let sample = try ConfigLoader.load(path: repositoryRoot + "/config.sample.json", environment: [:])
        #expect(sample.warnings == [])
        #expect(
            sample.servers.map(\.name)
                == ["time", "fetch", "memory", "filesystem", "github", "deepwiki", "local_sse", "deepwiki_legacy"])
        #expect(
            sample.servers.map(\.transport.kindName) == Array(repeating: "stdio", count: 4) + [
                "streamable-http", "streamable-http", "sse", "sse",
            ])
        #expect(sample.servers[2].disabledTools == ["delete_entities", "delete_relations", "delete_observations"])

        let examples = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/examples")
            .filter { $0.hasSuffix(".json") }.sorted()
        #expect(!examples.isEmpty)
        for example in examples {
            let config = try ConfigLoader.load(path: repositoryRoot + "/examples/" + example, environment: [:])
            #expect(!config.servers.isEmpty, "\(example)")
            #expect(config.warnings == [], "\(example)")
        }
    }
}

/// The `ConfigError` a closure throws, or nil.
func throwing<Result>(_ body: () throws -> Result) -> ConfigError? {
    do {
        _ = try body()
        return nil
    } catch let error as ConfigError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
