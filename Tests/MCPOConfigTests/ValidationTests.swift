import MCPOConfig
import Testing

@Suite struct ValidationTests {
    /// An entry, the key at fault and what is expected, as `description` says it.
    @Test(arguments: [
        (#"{"command": 5}"#, "command", "expected a string, got number 5"),
        (#"{"command": ""}"#, "command", "expected a non-empty string"),
        (#"{"command": "a\u0000b"}"#, "command", "must not contain a NUL character"),
        (#"{"command": "x", "args": "--flag"}"#, "args", "expected a list of strings, got string"),
        (#"{"command": "x", "args": ["a", 1]}"#, "args[1]", "expected a string, got number 1"),
        (#"{"command": "x", "args": [["a"]]}"#, "args[0]", "expected a string, got list"),
        (#"{"command": "x", "env": ["A=1"]}"#, "env", "expected an object of strings, got list"),
        (#"{"command": "x", "env": {"PORT": 8080}}"#, "env.PORT", "expected a string, got number 8080"),
        (#"{"command": "x", "env": {"DEBUG": true}}"#, "env.DEBUG", "expected a string, got boolean true"),
        (
            #"{"command": "x", "env": {"A=B": "1"}}"#, "env.A=B",
            "invalid environment variable name; it must be non-empty, without '=' or NUL"
        ),
        (#"{"command": "x", "cwd": 1}"#, "cwd", "expected a string, got number 1"),
        (#"{"command": "x", "cwd": ""}"#, "cwd", "expected a non-empty string"),
        (#"{"type": 5, "command": "x"}"#, "type", "expected a string, got number 5"),
        (
            #"{"type": "websocket", "url": "ws://h/"}"#, "type",
            "unknown server type 'websocket'; expected 'stdio', 'sse' or 'streamable-http' "
                + "(also accepted: 'streamable_http', 'streamablehttp', 'http', 'streamableHttp')"
        ),
        (#"{"url": "ftp://h/x"}"#, "url", "expected an absolute http:// or https:// URL"),
        (#"{"url": "not a url"}"#, "url", "expected an absolute http:// or https:// URL"),
        (#"{"url": "http:///path"}"#, "url", "expected an absolute http:// or https:// URL"),
        (#"{"url": ["http://h/"]}"#, "url", "expected a string, got list"),
        (#"{"url": "http://h/", "headers": "X: 1"}"#, "headers", "expected an object of strings, got string"),
        (#"{"url": "http://h/", "headers": {"X-N": 1}}"#, "headers.X-N", "expected a string, got number 1"),
        (
            #"{"url": "http://h/", "headers": {"Bad Name": "v"}}"#, "headers.Bad Name",
            "invalid header name; use letters, digits and !#$%&'*+-.^_`|~"
        ),
        (
            #"{"url": "http://h/", "headers": {"X": "a\r\nInjected: 1"}}"#, "headers.X",
            "header values must not contain line breaks or NUL"
        ),
        (#"{"command": "x", "disabledTools": "t"}"#, "disabledTools", "expected a list of strings, got string"),
        (#"{"command": "x", "disabled_tools": [1]}"#, "disabled_tools[0]", "expected a string, got number 1"),
        (#"{"command": "x", "enabledTools": {"t": true}}"#, "enabledTools", "expected a list of strings, got object"),
        (#"{"command": "x", "enabled_tools": [null]}"#, "enabled_tools[0]", "expected a string, got null"),
        (#"{"command": "x", "disabled": "yes"}"#, "disabled", "expected true or false, got string"),
        (#"{"command": "x", "disabled": 1}"#, "disabled", "expected true or false, got number 1"),
        (#"{"command": "x", "timeout": 0}"#, "timeout", "expected a positive number of seconds, got number 0"),
        (#"{"command": "x", "timeout": -2.5}"#, "timeout", "expected a positive number of seconds, got number -2.5"),
        (#"{"command": "x", "timeout": "30"}"#, "timeout", "expected a positive number of seconds, got string"),
        (#"{"command": "x", "timeout": 1e999}"#, "timeout", "expected a positive number of seconds, got number 1e999"),
        (#"{"type": "streamable-http", "url": "http://h/", "oauth": "x"}"#, "oauth", "expected an object, got string"),
        (#"{"type": "streamable-http", "url": "http://h/", "oauth": []}"#, "oauth", "expected an object, got list"),
        (
            #"{"command": "x", "client_header_forwarding": true}"#, "client_header_forwarding",
            "expected an object, got boolean true"
        ),
        (
            #"{"command": "x", "client_header_forwarding": {"enabled": "yes"}}"#, "client_header_forwarding.enabled",
            "expected true or false, got string"
        ),
        (
            #"{"command": "x", "client_header_forwarding": {"debug_headers": 1}}"#,
            "client_header_forwarding.debug_headers", "expected true or false, got number 1"
        ),
        (
            #"{"command": "x", "client_header_forwarding": {"whitelist": "a"}}"#,
            "client_header_forwarding.whitelist", "expected a list of strings, got string"
        ),
        (
            #"{"command": "x", "client_header_forwarding": {"blacklist": ["a", 2]}}"#,
            "client_header_forwarding.blacklist[1]", "expected a string, got number 2"
        ),
        (#"{"type": "sse"}"#, "url", "missing; required for a server of type 'sse'"),
        (
            #"{"type": "streamableHttp", "command": "x"}"#, "url",
            "missing; required for a server of type 'streamableHttp'"
        ),
        (#"{"type": "stdio", "url": "http://h/"}"#, "command", "missing; required for a server of type 'stdio'"),
    ])
    func badValue(entry: String, key: String, message: String) throws {
        let error = try #require(entryError(#""srv": \#(entry)"#))
        #expect(error == ConfigError(file: "mcp.json", server: "srv", key: key, message: message))
        #expect(error.description == "Invalid configuration in mcp.json: server 'srv', key '\(key)': \(message)")
    }

    @Test(arguments: [
        (#"{}"#, "must have either 'command' for stdio or 'type' and 'url' for remote servers"),
        (#"{"env": {"A": "1"}}"#, "must have either 'command' for stdio or 'type' and 'url' for remote servers"),
        (#""python server.py""#, "expected an object describing the server, got string"),
        (#"["python"]"#, "expected an object describing the server, got list"),
        (#"null"#, "expected an object describing the server, got null"),
    ])
    func badEntry(entry: String, message: String) throws {
        let error = try #require(entryError(#""srv": \#(entry)"#))
        #expect(error == ConfigError(file: "mcp.json", server: "srv", message: message))
        #expect(error.description == "Invalid configuration in mcp.json: server 'srv': \(message)")
    }

    @Test(arguments: [
        ("", "invalid name: must not be empty (it becomes the URL path segment /<name>/)"),
        (".", "invalid name: '.' is not usable as a URL path segment (it becomes the URL path segment /<name>/)"),
        ("..", "invalid name: '..' is not usable as a URL path segment (it becomes the URL path segment /<name>/)"),
        ("a/b", "invalid name: contains '/'; \(nameRule)"),
        ("my server", "invalid name: contains a space; \(nameRule)"),
        (" lead", "invalid name: contains a space; \(nameRule)"),
        ("tab\\tbed", "invalid name: contains U+0009; \(nameRule)"),
        ("nbsp\\u00a0", "invalid name: contains U+00A0; \(nameRule)"),
        ("bell\\u0007", "invalid name: contains U+0007; \(nameRule)"),
        ("what?", "invalid name: contains '?'; \(nameRule)"),
        ("a#b", "invalid name: contains '#'; \(nameRule)"),
        ("100%", "invalid name: contains '%'; \(nameRule)"),
    ])
    func badName(name: String, message: String) throws {
        let error = try #require(entryError(#""\#(name)": {"command": "x"}"#))
        #expect(error.key == nil)
        #expect(error.message == message)
        #expect(error.description == "Invalid configuration in mcp.json: server '\(error.server ?? "?")': \(message)")
    }

    @Test func unusualNamesAreAcceptedWithAWarning() throws {
        let config = try parseEntries(
            #""plain-name_1.0~x": {"command": "x"}, "zoë:1": {"command": "x"}, "a+b+c": {"command": "x"}"#)
        #expect(config.servers.map(\.name) == ["plain-name_1.0~x", "zoë:1", "a+b+c"])
        #expect(
            config.warnings == [
                "mcp.json: server 'zoë:1': name contains 'ë', ':', outside the URL-safe letters, digits, '-', '_', '.' "
                    + "and '~'; clients must percent-encode it in /zoë:1/",
                "mcp.json: server 'a+b+c': name contains '+', outside the URL-safe letters, digits, '-', '_', '.' "
                    + "and '~'; clients must percent-encode it in /a+b+c/",
            ])
    }

    @Test func firstErrorInFileOrderWins() throws {
        let error = try #require(entryError(#""ok": {"command": "x"}, "bad1": {}, "bad2": {"command": 1}"#))
        #expect(error.server == "bad1")
    }
}

private let nameRule =
    "it becomes the URL path segment /<name>/ and must not contain '/', '?', '#', '%', white space or control "
    + "characters"
