import JSONValue
import Testing

@testable import MCPBridge

@Suite struct ToolDefinitions {
    @Test func readsEveryMember() throws {
        let definition = try tool(
            #"{"name":"t","title":"Nice","description":"d","inputSchema":{"type":"object"},"outputSchema":{"type":"object"},"annotations":{"title":"Old","readOnlyHint":true}}"#
        )
        #expect(definition.name == "t")
        #expect(definition.title == "Nice")
        #expect(definition.description == "d")
        #expect(definition.inputSchema == ["type": "object"])
        #expect(definition.outputSchema == ["type": "object"])
        #expect(definition.annotations == ["title": "Old", "readOnlyHint": true])
    }

    @Test func titleFallsBackToAnnotationsAndSchemaDefaultsToObject() throws {
        let definition = try tool(#"{"name":"t","annotations":{"title":"From annotations"},"outputSchema":"nonsense"}"#)
        #expect(definition.title == "From annotations")
        #expect(definition.description == nil)
        #expect(definition.inputSchema == ["type": "object"])
        #expect(definition.outputSchema == nil)
    }

    @Test func refusesNamelessToolsAndNonObjectSchemas() throws {
        #expect(throws: BridgeError.invalidToolDefinition(.missingName)) { try tool(#"{"inputSchema":{}}"#) }
        #expect(throws: BridgeError.invalidToolDefinition(.missingName)) { try tool(#"{"name":""}"#) }
        #expect(throws: BridgeError.invalidToolDefinition(.missingName)) { try tool(#"{"name":5}"#) }
        #expect(throws: BridgeError.invalidToolDefinition(.notAnObject)) { try tool(#"[]"#) }
        #expect(throws: BridgeError.invalidToolDefinition(.inputSchemaNotAnObject(tool: "t", found: "array"))) {
            try tool(#"{"name":"t","inputSchema":[]}"#)
        }
        #expect(
            BridgeError.invalidToolDefinition(.inputSchemaNotAnObject(tool: "t", found: "array")).description
                == "tool 't' has an inputSchema that is array, not a JSON object")
    }
}

@Suite struct Catalogs {
    @Test func operationsKeepListOrderAndFindTheirPaths() throws {
        let tools = try catalog(SchemaCorpus.echo, SchemaCorpus.dashName, SchemaCorpus.pixel)
        #expect(tools.operations.map(\.path) == ["/echo", "/dash-name.v2", "/pixel"])
        #expect(tools.operations.map(\.operationId) == ["tool_echo_post", "tool_dash_name_v2_post", "tool_pixel_post"])
        #expect(tools.operation(forPath: "/dash-name.v2")?.tool.name == "dash-name.v2")
        #expect(tools.operation(forPath: "/dash_name_v2") == nil)
        #expect(tools.operation(forPath: "echo") == nil)
    }

    @Test func collidingOperationIdsGetSuffixesInListOrder() throws {
        let tools = ToolCatalog(tools: ["a-b", "a_b", "a.b", "tool_a_b_post_2"].map { ToolDefinition(name: $0) })
        #expect(
            tools.operations.map(\.operationId) == [
                "tool_a_b_post", "tool_a_b_post_2", "tool_a_b_post_3", "tool_tool_a_b_post_2_post",
            ])
    }

    @Test func duplicateNamesKeepTheFirstTool() {
        let tools = ToolCatalog(tools: [
            ToolDefinition(name: "x", description: "first"), ToolDefinition(name: "x", description: "second"),
        ])
        #expect(tools.operations.count == 1)
        #expect(tools.operation(forPath: "/x")?.tool.description == "first")
    }

    @Test func bodyFlags() throws {
        let tools = try catalog(SchemaCorpus.echo, SchemaCorpus.explode, SchemaCorpus.pixel, SchemaCorpus.structured)
        #expect(tools.operations.map(\.hasBody) == [true, true, false, false])
        #expect(tools.operations.map(\.bodyRequired) == [true, false, false, false])
        let composed = ToolCatalog(tools: [
            ToolDefinition(
                name: "c",
                inputSchema: [
                    "allOf": [["$ref": "#/$defs/A"]], "$defs": ["A": ["properties": ["q": [:]], "required": ["q"]]],
                ]),
            ToolDefinition(
                name: "u",
                inputSchema: ["anyOf": [["properties": ["a": [:]], "required": ["a"]], ["properties": ["b": [:]]]]]),
        ])
        #expect(composed.operations.map(\.hasBody) == [true, true])
        #expect(composed.operations.map(\.bodyRequired) == [true, false])
    }
}

@Suite struct DocumentHelper {
    @Test func brokenReferencesAreCaught() {
        let document: JSON = [
            "paths": ["/x": ["post": ["requestBody": ["$ref": "#/components/schemas/Missing"]]]],
            "components": ["schemas": ["Here": ["$ref": "#/components/schemas/Here"]]],
        ]
        withKnownIssue {
            #expect(expectLocalReferencesResolve(document) == 2)
        }
    }
}
