import JSONValue
import Testing

@testable import MCPBridge

/// Resources and prompts as operations, requests and answers: pure translation, no server.
@Suite struct ServerFeaturesTests {
    @Test("a prompt's arguments become a body of strings, the required ones required")
    func promptSchema() throws {
        let operations = ServerFeatures.promptOperations([
            [
                "name": "greet", "description": "Greets",
                "arguments": [
                    ["name": "name", "description": "Who", "required": true], ["name": "style"],
                ],
            ],
            ["description": "no name: left out"],
            ["name": "greet!"],
        ])
        #expect(operations.map(\.path) == ["/prompts", "/prompts/greet", "/prompts/greet!"])
        #expect(operations.map(\.tool.name) == ["prompts/list", "prompts/greet", "prompts/greet!"])
        #expect(operations.map(\.operationId) == ["prompts_list_get", "prompt_greet_post", "prompt_greet__post"])
        let greet = operations[1]
        #expect(greet.kind == .prompt("greet"))
        #expect(
            greet.tool.inputSchema
                == [
                    "type": "object",
                    "properties": ["name": ["type": "string", "description": "Who"], "style": ["type": "string"]],
                    "required": ["name"],
                ])
        #expect(greet.hasBody && greet.bodyRequired)
        #expect(operations[0].kind.httpMethod == "GET" && !operations[0].hasBody)
        #expect(operations[2].tool.inputSchema == ["type": "object", "properties": [:]])
        #expect(!operations[2].bodyRequired)
    }

    @Test("a tool of the same path keeps it; the features follow the tools")
    func catalogOrder() {
        let catalog = ToolCatalog(
            tools: [ToolDefinition(name: "resources"), ToolDefinition(name: "echo")],
            features: ServerFeatures.resourceOperations())
        #expect(catalog.operations.map(\.path) == ["/resources", "/echo", "/resources/read"])
        #expect(catalog.operations.map(\.kind) == [.tool, .tool, .resourceRead])
    }

    @Test("the requests each route sends")
    func requests() {
        #expect(FeatureRequest(kind: .tool, arguments: [:]) == nil)
        #expect(
            FeatureRequest(kind: .resourceRead, arguments: ["uri": "file:///a"])?.shape
                == .single(method: "resources/read", params: ["uri": "file:///a"]))
        #expect(
            FeatureRequest(kind: .prompt("greet"), arguments: ["name": "Ann"])?.shape
                == .single(method: "prompts/get", params: ["name": "greet", "arguments": ["name": "Ann"]]))
        guard case .listings(let listings)? = FeatureRequest(kind: .resourceList, arguments: [:])?.shape else {
            Issue.record("a resource listing is two listings")
            return
        }
        #expect(listings.map(\.method) == ["resources/list", "resources/templates/list"])
        #expect(listings.map(\.optional) == [false, true])
    }

    /// A `resources/read` result and its answer.
    static let contentCases: [(result: JSON, expected: FeatureAnswer)] = {
        var cases: [(result: JSON, expected: FeatureAnswer)] = []
        func add(_ result: JSON, _ expected: FeatureAnswer) { cases.append((result, expected)) }
        add(
            ["contents": [["uri": "u", "text": "hi"]]] as JSON,
            FeatureAnswer.content(contentType: "text/plain; charset=utf-8", bytes: Array("hi".utf8)))
        add(
            ["contents": [["uri": "u", "mimeType": "text/markdown", "text": "# a"]]],
            .content(contentType: "text/markdown; charset=utf-8", bytes: Array("# a".utf8)))
        add(
            ["contents": [["uri": "u", "mimeType": "text/csv; charset=latin1", "text": "a"]]],
            .content(contentType: "text/csv; charset=latin1", bytes: Array("a".utf8)))
        add(
            ["contents": [["uri": "u", "mimeType": "application/json", "text": "{\"a\": 1}"]]],
            .content(contentType: "application/json", bytes: Array("{\"a\": 1}".utf8)))
        add(
            ["contents": [["uri": "u", "mimeType": "image/png", "blob": "AAEC"]]],
            .content(contentType: "image/png", bytes: [0, 1, 2]))
        add(
            ["contents": [["uri": "u", "blob": "AAEC"]]],
            .content(contentType: "application/octet-stream", bytes: [0, 1, 2]))
        add(
            ["contents": [["uri": "u", "mimeType": "bad\r\nX-Injected: 1", "text": "a"]]],
            .content(contentType: "text/plain; charset=utf-8", bytes: Array("a".utf8)))
        add(
            ["contents": [["uri": "u", "blob": "not base64!"]]],
            .json(
                HTTPAnswer(
                    status: 502, body: ["detail": "The MCP server sent a resource whose blob is not valid base64"])))
        add(
            ["contents": [["uri": "a", "text": "1"], ["uri": "b", "text": "2"]]],
            .json(HTTPAnswer(status: 200, body: [["uri": "a", "text": "1"], ["uri": "b", "text": "2"]])))
        add(
            ["contents": []], .json(HTTPAnswer(status: 200, body: [])))
        return cases
    }()

    @Test("one content is answered as itself, with its type; none or several as JSON", arguments: 0..<10)
    func resourceContents(index: Int) {
        let (result, expected) = Self.contentCases[index]
        #expect(FeatureAnswer.answer(for: .resourceRead, result: result) == expected)
    }

    @Test("a prompt's answer is its description and messages, nothing else")
    func promptAnswer() {
        let answer = FeatureAnswer.answer(
            for: .prompt("p"), result: ["messages": [["role": "user"]], "resultType": "complete", "_meta": [:]])
        #expect(answer == .json(HTTPAnswer(status: 200, body: ["description": nil, "messages": [["role": "user"]]])))
        #expect(
            FeatureAnswer.jsonAnswer(for: .resourceRead, result: ["contents": [["uri": "u", "blob": "AAEC"]]])
                == HTTPAnswer(status: 200, body: ["contents": [["uri": "u", "blob": "AAEC"]]]))
    }

    @Test("the documents describe the routes: GET with the uri parameter, POST with the prompt's body")
    func document() throws {
        let catalog = ToolCatalog(
            tools: [ToolDefinition(name: "echo")],
            features: ServerFeatures.resourceOperations()
                + ServerFeatures.promptOperations([["name": "greet", "arguments": [["name": "n", "required": true]]]]))
        let document = OpenAPIGenerator.document(
            options: OpenAPIOptions(info: OpenAPIInfo(title: "t", version: "1")),
            sections: [OpenAPISection(pathPrefix: "/s", operationIdPrefix: "s_", catalog: catalog)])
        let paths = try #require(document["paths"])
        #expect(paths["/s/echo"]?["post"]?["operationId"] == "tool_s_echo_post")
        #expect(paths["/s/resources"]?["get"]?["operationId"] == "s_resources_list_get")
        let read = try #require(paths["/s/resources/read"]?["get"])
        #expect(read["parameters"]?[0]?["in"] == "query")
        #expect(read["responses"]?["404"] != nil)
        #expect(read["requestBody"] == nil)
        #expect(read["x-mcp-risk"] == nil)
        #expect(paths["/s/prompts/greet"]?["post"]?["requestBody"]?["required"] == true)
    }
}
