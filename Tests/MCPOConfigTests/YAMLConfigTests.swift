import JSONValue
import MCPOConfig
import Testing

@Suite struct YAMLConfigTests {
    private let json = """
        {
          "mcpServers": {
            "local": {
              "command": "node",
              "args": ["server.js", "--verbose"],
              "env": {"API_KEY": "${KEY}", "COUNTRY": "NO", "ANSWER": "yes"},
              "cwd": "work",
              "disabledTools": ["drop"],
              "enabledTools": ["keep"],
              "timeout": 12.5,
              "description": "local tools"
            },
            "remote": {
              "type": "streamable-http",
              "url": "https://example.com/mcp",
              "headers": {"Authorization": "Bearer ${KEY}"},
              "timeout": 30,
              "oauth": {"server_url": "https://example.com"}
            },
            "legacy": {"url": "http://127.0.0.1:8001/sse"},
            "parked": {"disabled": true, "command": "x"}
          }
        }
        """

    private let yaml = """
        # The same servers, in YAML.
        mcpServers:
          local:
            command: node
            args:
              - server.js
              - --verbose
            env:
              API_KEY: ${KEY}
              COUNTRY: NO      # YAML 1.2: a string, not false
              ANSWER: yes
            cwd: work
            disabledTools: [drop]
            enabledTools: [keep]
            timeout: 12.5
            description: local tools
          remote:
            type: streamable-http
            url: https://example.com/mcp
            headers:
              Authorization: "Bearer ${KEY}"
            timeout: 30
            oauth:
              server_url: https://example.com
          legacy: {url: "http://127.0.0.1:8001/sse"}
          parked:
            disabled: true
            command: x
        """

    @Test(arguments: ["mcp.yaml", "mcp.yml", "MCP.YML"])
    func yamlMatchesJSON(name: String) throws {
        let directory = try ConfigDirectory()
        defer { directory.remove() }
        let fromJSON = try ConfigLoader.load(path: try directory.write("mcp.json", json), environment: ["KEY": "k"])
        let fromYAML = try ConfigLoader.load(path: try directory.write(name, yaml), environment: ["KEY": "k"])
        #expect(fromYAML.servers == fromJSON.servers)
        #expect(fromYAML.warnings == [])
        #expect(fromYAML.servers.map(\.name) == ["local", "remote", "legacy"])
        #expect(
            fromYAML.servers.first?.transport
                == .stdio(
                    StdioCommand(
                        command: "node", arguments: ["server.js", "--verbose"],
                        environment: ["API_KEY": "k", "COUNTRY": "NO", "ANSWER": "yes"],
                        workingDirectory: directory.path + "/work")))
    }

    @Test func anchorsAliasesAndMergeKeys() throws {
        let config = try ConfigLoader.parse(
            text: """
                shared: &shared
                  command: uvx
                  env: &env {LOG: debug, MODE: base}
                mcpServers:
                  one:
                    <<: *shared
                    args: [one]
                  two:
                    <<: *shared
                    command: npx
                    env: {<<: *env, MODE: two}
                """,
            path: "c.yaml", environment: [:])
        #expect(
            config.servers.map(\.transport) == [
                .stdio(
                    StdioCommand(command: "uvx", arguments: ["one"], environment: ["LOG": "debug", "MODE": "base"])),
                .stdio(StdioCommand(command: "npx", environment: ["LOG": "debug", "MODE": "two"])),
            ])
        #expect(config.warnings == [])
    }

    @Test func scalarTyping() throws {
        let config = try ConfigLoader.parse(
            text: """
                mcpServers:
                  a:
                    command: "true"
                    args: ['1', !!str 2, "null", off, 1_000]
                    description: [~, True, FALSE, 0x1F, 0o17, -7, +3, .5, 2.50, .inf, !!int "9", 2024-01-01]
                    timeout: 1e1
                    disabled: false
                  b: {url: 'http://h/', timeout: 7, env: }
                """,
            path: "c.yaml", environment: [:])
        #expect(config.servers.map(\.callTimeoutSeconds) == [10, 7])
        #expect(config.servers.first?.rawConfig["args"] == ["1", "2", "null", "off", "1_000"])
        #expect(
            config.servers.first?.rawConfig["description"]
                == [nil, true, false, 31, 15, -7, 3, 0.5, 2.5, ".inf", 9, "2024-01-01"])
        #expect(
            throwing {
                try ConfigLoader.parse(
                    text: "mcpServers: {a: {command: x, args: [0x1F]}}", path: "c.yml", environment: [:])
            }?.description
                == "Invalid configuration in c.yml: server 'a', key 'args[0]': expected a string, got number 31 "
                + "(quote it in YAML to make it a string)")
    }

    @Test func unquotedNumbersInYAMLGetAHint() throws {
        let error = throwing {
            try ConfigLoader.parse(
                text: "mcpServers:\n  a:\n    command: x\n    env:\n      PORT: 8080\n", path: "c.yaml",
                environment: [:])
        }
        #expect(
            error?.description
                == "Invalid configuration in c.yaml: server 'a', key 'env.PORT': expected a string, got number 8080 "
                + "(quote it in YAML to make it a string)")
        let empty = throwing {
            try ConfigLoader.parse(
                text: "mcpServers:\n  a:\n    command: x\n    env:\n      TOKEN:\n", path: "c.yaml", environment: [:])
        }
        #expect(
            empty?.description
                == "Invalid configuration in c.yaml: server 'a', key 'env.TOKEN': expected a string, got null "
                + "(quote it in YAML to make it a string)")
    }

    @Test func nonStringKeysAndBadMerges() throws {
        #expect(
            throwing { try ConfigLoader.parse(text: "mcpServers:\n  [a]: {}\n", path: "c.yaml", environment: [:]) }
                == ConfigError(
                    file: "c.yaml",
                    message: "Invalid YAML in config file c.yaml: mapping keys must be strings at line 2, column 3",
                    line: 2, column: 3))
        #expect(
            throwing { try ConfigLoader.parse(text: "mcpServers:\n  <<: 5\n", path: "c.yaml", environment: [:]) }?
                .description
                == "Invalid YAML in config file c.yaml: '<<' must merge a mapping or a list of mappings at line 2, "
                + "column 7")
    }

    @Test func multipleDocumentsAreRefused() throws {
        let error = throwing {
            try ConfigLoader.parse(text: "mcpServers: {}\n---\nmcpServers: {}\n", path: "c.yaml", environment: [:])
        }
        #expect(
            error?.description
                == "Invalid YAML in config file c.yaml: but found another document at line 2, column 1 "
                + "(expected a single document in the stream at line 1, column 1)")
    }
}
