import JSONValue
import Testing

@testable import MCPOConfig

@Suite struct ExpansionTests {
    private let environment = ["HOME": "/home/me", "TOKEN": "s3cret", "EMPTY": "", "PORT": "8080"]

    @Test(arguments: [
        ("plain", "plain"),
        ("${HOME}/data", "/home/me/data"),
        ("Bearer ${TOKEN}", "Bearer s3cret"),
        ("${HOME}${PORT}", "/home/me8080"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${PORT:-1}", "8080"),
        ("${MISSING:-}", ""),
        ("${EMPTY}", ""),
        ("${MISSING:-${HOME}/x}", "/home/me/x"),
        ("${PORT:-${MISSING}}", "8080"),
        ("${MISSING:-a:-b}", "a:-b"),
        ("$$HOME", "$HOME"),
        ("$${HOME}", "${HOME}"),
        ("$$$$", "$$"),
        ("$HOME", "$HOME"),
        ("cost: 5$", "cost: 5$"),
        ("$ {HOME}", "$ {HOME}"),
        ("ünï${PORT}cödé", "ünï8080cödé"),
    ])
    func expands(text: String, expected: String) throws {
        #expect(try EnvironmentExpander(environment: environment).expand(text) == expected)
    }

    @Test(arguments: [
        ("${MISSING}", EnvironmentExpander.Failure.undefined(name: "MISSING")),
        ("${MISSING:-${ALSO_MISSING}}", .undefined(name: "ALSO_MISSING")),
        ("${HOME", .unterminated),
        ("${MISSING:-x", .unterminated),
        ("${}", .invalidReference("${}")),
        ("${1ABC}", .invalidReference("${1ABC}")),
        ("${A B}", .invalidReference("${A B}")),
        ("${A-default}", .invalidReference("${A-default}")),
        ("${A:?error}", .invalidReference("${A:?error}")),
    ])
    func fails(text: String, failure: EnvironmentExpander.Failure) {
        #expect(throws: failure) { try EnvironmentExpander(environment: environment).expand(text) }
    }

    @Test func expandsEveryStringOfTheKnownKeys() throws {
        let config = try parseEntries(
            #"""
            "local": {"command": "${HOME}/bin/server", "args": ["--port", "${PORT}", "$$literal"],
                      "env": {"TOKEN": "${TOKEN}", "KEEP": "${KEEP:-kept}"}, "cwd": "${HOME}/work",
                      "disabledTools": ["${TOOL:-rm}"], "description": "${NOT_EXPANDED}"},
            "remote": {"type": "${KIND:-streamable-http}", "url": "https://h:${PORT}/mcp",
                       "headers": {"Authorization": "Bearer ${TOKEN}"},
                       "oauth": {"server_url": "https://h", "client_secret": "${TOKEN}"}}
            """#,
            environment: environment)
        #expect(
            config.servers[0].transport
                == .stdio(
                    StdioCommand(
                        command: "/home/me/bin/server", arguments: ["--port", "8080", "$literal"],
                        environment: ["TOKEN": "s3cret", "KEEP": "kept"], workingDirectory: "/home/me/work")))
        #expect(config.servers[0].disabledTools == ["rm"])
        #expect(config.servers[0].rawConfig["description"] == "${NOT_EXPANDED}")
        #expect(config.servers[0].rawConfig["args"] == ["--port", "8080", "$literal"])
        #expect(
            config.servers[1].transport
                == .streamableHTTP(
                    RemoteEndpoint(url: "https://h:8080/mcp", headers: [("Authorization", "Bearer s3cret")])))
        #expect(config.servers[1].oauth?["client_secret"] == "s3cret")
    }

    @Test(arguments: [
        (#"{"command": "${NOPE}"}"#, "command"),
        (#"{"command": "x", "args": ["a", "${NOPE}"]}"#, "args[1]"),
        (#"{"command": "x", "env": {"KEY": "${NOPE}"}}"#, "env.KEY"),
        (#"{"command": "x", "cwd": "${NOPE}/d"}"#, "cwd"),
        (#"{"url": "http://${NOPE}/"}"#, "url"),
        (#"{"url": "http://h/", "headers": {"Authorization": "Bearer ${NOPE}"}}"#, "headers.Authorization"),
        (#"{"type": "http", "url": "http://h/", "oauth": {"client_secret": "${NOPE}"}}"#, "oauth.client_secret"),
    ])
    func undefinedVariableNamesFileServerKeyAndVariable(entry: String, key: String) throws {
        let error = try #require(entryError(#""srv": \#(entry)"#, path: "/etc/mcp.json", environment: environment))
        #expect(
            error.description
                == "Invalid configuration in /etc/mcp.json: server 'srv', key '\(key)': environment variable 'NOPE' "
                + "is not set (write ${NOPE:-default} to give a default)")
    }

    @Test func badReferenceMessages() throws {
        #expect(
            entryError(#""srv": {"command": "x${A"}"#)?.description
                == "Invalid configuration in mcp.json: server 'srv', key 'command': unterminated '${' "
                + "(write '$$' for a literal '$')")
        #expect(
            entryError(#""srv": {"command": "${A B}"}"#)?.description
                == "Invalid configuration in mcp.json: server 'srv', key 'command': invalid variable reference "
                + "'${A B}'; expected ${NAME} or ${NAME:-default} (write '$$' for a literal '$')")
    }

    @Test func expandedValuesAreValidatedAfterExpansion() throws {
        #expect(
            entryError(#""srv": {"command": "${EMPTY}"}"#, environment: environment)?.description
                == "Invalid configuration in mcp.json: server 'srv', key 'command': expected a non-empty string")
        #expect(
            entryError(#""srv": {"url": "${EMPTY}"}"#, environment: environment)?.description
                == "Invalid configuration in mcp.json: server 'srv', key 'url': "
                + "expected an absolute http:// or https:// URL")
    }

    @Test func expansionChangesAreEntryChanges() throws {
        let entry = #""a": {"command": "x", "env": {"T": "${TOKEN}"}}"#
        let before = try parseEntries(entry, environment: ["TOKEN": "1"])
        let same = try parseEntries(entry, environment: ["TOKEN": "1", "OTHER": "2"])
        let after = try parseEntries(entry, environment: ["TOKEN": "2"])
        #expect(before.servers == same.servers)
        #expect(before.servers != after.servers)
        #expect(after.servers.first?.rawConfig["env"] == ["T": "2"])
    }
}
