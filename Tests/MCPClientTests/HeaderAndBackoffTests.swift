import JSONValue
import Testing

@testable import MCPClient

@Suite("MCP header values and x-mcp-header")
struct MCPHeaderTests {
    @Test("values are plain when safe, else Base64 sentinels (the examples of the specification)")
    func encoding() {
        #expect(MCPHeaderValue.encode("us-west1") == "us-west1")
        #expect(MCPHeaderValue.encode("Hello, 世界") == "=?base64?SGVsbG8sIOS4lueVjA==?=")
        #expect(MCPHeaderValue.encode(" padded ") == "=?base64?IHBhZGRlZCA=?=")
        #expect(MCPHeaderValue.encode("line1\nline2") == "=?base64?bGluZTEKbGluZTI=?=")
        #expect(MCPHeaderValue.encode("=?base64?literal?=") == "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=")
    }

    @Test("declarations reachable through properties become headers; absent and null values are omitted")
    func headers() throws {
        let schema: JSON = [
            "type": "object",
            "properties": [
                "region": ["type": "string", "x-mcp-header": "Region"],
                "options": [
                    "type": "object",
                    "properties": ["dry": ["type": "boolean", "x-mcp-header": "Dry-Run"]],
                ],
                "count": ["type": "integer", "x-mcp-header": "Count"],
                "query": ["type": "string", "enum": [["x-mcp-header": "data, not a declaration"]]],
            ],
        ]
        let declarations = try MCPParamHeaders.declarations(in: schema).get()
        #expect(declarations.map(\.header) == ["Region", "Dry-Run", "Count"])
        let headers = MCPParamHeaders.headers(
            for: declarations, arguments: ["region": "eu-1", "options": ["dry": true], "count": .null])
        #expect(headers.map(\.name) == ["Mcp-Param-Region", "Mcp-Param-Dry-Run"])
        #expect(headers.map(\.value) == ["eu-1", "true"])
    }

    @Test(
        "invalid declarations make the tool invalid",
        arguments: [
            ["type": "object", "properties": ["a": ["type": "number", "x-mcp-header": "A"]]],
            ["type": "object", "properties": ["a": ["type": "string", "x-mcp-header": "bad name"]]],
            ["type": "object", "properties": ["a": ["type": "string", "x-mcp-header": ""]]],
            [
                "type": "object",
                "properties": [
                    "a": ["type": "string", "x-mcp-header": "Same"], "b": ["type": "string", "x-mcp-header": "same"],
                ],
            ],
            [
                "type": "object",
                "properties": ["a": ["type": "array", "items": ["type": "string", "x-mcp-header": "A"]]],
            ],
            ["type": "object", "anyOf": [["properties": ["a": ["type": "string", "x-mcp-header": "A"]]]]],
            ["type": "object", "$defs": ["x": ["type": "string", "x-mcp-header": "A"]]],
        ] as [JSON])
    func invalid(schema: JSON) {
        guard case .failure = MCPParamHeaders.declarations(in: schema) else {
            Issue.record("accepted \(schema.text)")
            return
        }
    }

    @Test("the name of a tool is mirrored for the methods that name a target")
    func mirroredName() {
        #expect(RPCConnection.mirroredName(method: "tools/call", params: ["name": "echo"]) == "echo")
        #expect(RPCConnection.mirroredName(method: "resources/read", params: ["uri": "file:///a"]) == "file:///a")
        #expect(RPCConnection.mirroredName(method: "tools/list", params: ["name": "x"]) == nil)
    }
}

@Suite("reconnect backoff")
struct BackoffTests {
    @Test("doubles from 0.5 s up to 30 s, jitter within ±20 %")
    func growth() {
        let backoff = Backoff()
        let plain = (0..<10).map { backoff.delay(afterFailures: $0, random: 0) }
        #expect(plain == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30])
        #expect(backoff.delay(afterFailures: 0, random: 1) == 0.6)
        #expect(backoff.delay(afterFailures: 0, random: -1) == 0.4)
        #expect(backoff.delay(afterFailures: 20, random: 1) == 30)
        for failures in 0..<12 {
            let delay = backoff.delay(afterFailures: failures)
            #expect(delay > 0 && delay <= 30)
        }
    }
}
