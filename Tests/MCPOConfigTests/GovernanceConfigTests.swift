import MCPOConfig
import Testing

/// `audit`, `logFormat` and each server's `toolRisk`, `confirm`, `pinTools` and `rateLimit`.
@Suite struct GovernanceConfigTests {
    @Test("every key read, with defaults")
    func keys() throws {
        let config = try ConfigLoader.parse(
            text: #"""
                {"audit": {"store": "sqlite:///var/lib/mcpo/audit.db", "outputChars": 50, "retentionDays": 7, "required": true},
                 "logFormat": "json",
                 "mcpServers": {
                   "kitchen": {"command": "x", "toolRisk": {"delete_*": "high", "get_*": "LOW"}, "confirm": "medium",
                               "pinTools": "block", "rateLimit": {"perCaller": "60/minute", "tools": {"slow": "5/hour"}}},
                   "plain": {"command": "y"}}}
                """#, path: "gw.json", environment: ["HOME": "/home/u"])
        #expect(
            config.audit
                == AuditSettings(
                    store: .sqlite(path: "/var/lib/mcpo/audit.db"), outputChars: 50, retentionDays: 7, required: true))
        #expect(config.logFormat == .json)
        let kitchen = config.servers[0].governance
        #expect(kitchen.toolRisk.map(\.glob) == ["delete_*", "get_*"])
        #expect(kitchen.toolRisk.map(\.risk) == [.high, .low])
        #expect(kitchen.confirm == .medium)
        #expect(kitchen.pinTools == .block)
        #expect(kitchen.perCallerLimit == RateLimit.parse("60/minute"))
        #expect(kitchen.toolLimits["slow"]?.count == 5)
        #expect(kitchen.toolLimits["slow"]?.period == .seconds(3600))
        #expect(config.servers[1].governance == ServerGovernance())
    }

    @Test("audit defaults: the XDG state folder, 200 characters, 90 days, not required; a relative store is the file's")
    func defaults() throws {
        let config = try ConfigLoader.parse(
            text: #"{"audit": {}, "mcpServers": {}}"#, path: "/etc/mcpo/gw.json",
            environment: ["XDG_STATE_HOME": "/state"])
        #expect(config.audit == AuditSettings(store: .sqlite(path: "/state/mcpo/audit.db")))
        let home = try ConfigLoader.parse(
            text: #"{"audit": {"store": "logs/audit.db"}, "mcpServers": {}}"#, path: "/etc/mcpo/gw.json",
            environment: ["HOME": "/home/u"])
        #expect(home.audit?.store == .sqlite(path: "/etc/mcpo/logs/audit.db"))
        #expect(
            StoreLocation.defaultLocation(environment: ["HOME": "/home/u"])
                == .sqlite(path: "/home/u/.local/state/mcpo/audit.db"))
        #expect(
            StoreLocation.parse("postgres://mcpo:secret@db:5432/mcpo")?.description
                == "postgres://mcpo:***@db:5432/mcpo",
            "never the password")
    }

    @Test(arguments: [
        (
            #"{"audit": 5, "mcpServers": {}}"#, "audit",
            #"expected an object such as {"store": "sqlite:///var/lib/mcpo/audit.db"}"#
        ),
        (
            #"{"audit": {"store": "ftp://x"}, "mcpServers": {}}"#, "audit.store",
            "expected sqlite:///path/to/audit.db, a file path, or postgres://user@host:5432/database"
        ),
        (
            #"{"audit": {"outputChars": -1}, "mcpServers": {}}"#, "audit.outputChars",
            "expected a whole number from 0 to 100000"
        ),
        (
            #"{"audit": {"retentionDays": 0}, "mcpServers": {}}"#, "audit.retentionDays",
            "expected a whole number of days from 1 to 36500"
        ),
        (#"{"audit": {"required": "yes"}, "mcpServers": {}}"#, "audit.required", "expected true or false"),
        (#"{"logFormat": "xml", "mcpServers": {}}"#, "logFormat", #"expected "text" or "json""#),
    ])
    func badTopLevel(text: String, key: String, message: String) throws {
        do {
            _ = try ConfigLoader.parse(text: text, path: "gw.json", environment: [:])
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error == ConfigError(file: "gw.json", key: key, message: message))
        }
    }

    @Test(arguments: [
        (
            #"{"command": "x", "toolRisk": ["high"]}"#, "toolRisk",
            #"expected an object mapping tool-name globs to risks, e.g. {"delete_*": "high"}"#
        ),
        (#"{"command": "x", "toolRisk": {"a": "severe"}}"#, "toolRisk.a", #"expected "low", "medium" or "high""#),
        (#"{"command": "x", "confirm": "always"}"#, "confirm", #"expected "high", "medium", "low" or "off""#),
        (#"{"command": "x", "pinTools": true}"#, "pinTools", #"expected "off", "warn" or "block""#),
        (
            #"{"command": "x", "rateLimit": "60/minute"}"#, "rateLimit",
            #"expected an object such as {"perCaller": "60/minute", "tools": {"slow_report": "5/minute"}}"#
        ),
        (
            #"{"command": "x", "rateLimit": {"perCaller": "60 per minute"}}"#, "rateLimit.perCaller",
            #"expected a rate such as "60/minute" (N/second, N/minute or N/hour)"#
        ),
        (
            #"{"command": "x", "rateLimit": {"perUser": "1/second"}}"#, "rateLimit.perUser",
            "unknown key; expected 'perCaller' or 'tools'"
        ),
        (
            #"{"command": "x", "rateLimit": {"tools": {"t": "0/minute"}}}"#, "rateLimit.tools.t",
            #"expected a rate such as "60/minute" (N/second, N/minute or N/hour)"#
        ),
    ])
    func badServerKey(entry: String, key: String, message: String) throws {
        let error = try #require(entryError(#""srv": \#(entry)"#))
        #expect(error == ConfigError(file: "mcp.json", server: "srv", key: key, message: message))
    }

    @Test("rates: N/second, N/minute, N/hour")
    func rates() {
        #expect(RateLimit.parse("5/second")?.period == .seconds(1))
        #expect(RateLimit.parse("60/minute")?.text == "60/minute")
        #expect(RateLimit.parse("2/h")?.text == "2/hour")
        for bad in ["", "5", "/minute", "x/minute", "5/day", "-1/minute", "0/second"] {
            #expect(RateLimit.parse(bad) == nil, "\(bad)")
        }
    }
}
