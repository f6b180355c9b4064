import JSONValue
import Testing

@testable import MCPBridge

/// The documents as their consumers read them: Open WebUI's resolver, 3.0-only and top-level-`$ref`-only readers,
/// function-name limits.
@Suite struct ConsumerDocumentsTests {
    /// Open WebUI's resolver: each `$ref` node is replaced by its target, the keywords beside it dropped; a
    /// reference met again deeper (recursion) is left after `depth` levels.
    static func resolvedLikeOpenWebUI(_ node: JSON, in document: JSON, depth: Int = 0) -> JSON {
        switch node {
        case .object(let object):
            if let name = ComponentGraph.component(of: object["$ref"]),
                let target = document["components"]?["schemas"]?[name]
            {
                return depth > 6 ? [:] : resolvedLikeOpenWebUI(target, in: document, depth: depth + 1)
            }
            var out = object
            for (key, value) in object { out[key] = resolvedLikeOpenWebUI(value, in: document, depth: depth) }
            return .object(out)
        case .array(let items):
            return .array(items.map { resolvedLikeOpenWebUI($0, in: document, depth: depth) })
        default:
            return node
        }
    }

    /// Every value of `default`, `description` and `enum` in a schema, as JSON text.
    static func kept(in node: JSON) -> Set<String> {
        var found: Set<String> = []
        func walk(_ node: JSON) {
            switch node {
            case .object(let object):
                for (key, value) in object {
                    if ["default", "description", "enum"].contains(key) { found.insert(key + "=" + value.text) }
                    walk(value)
                }
            case .array(let items):
                items.forEach(walk)
            default:
                break
            }
        }
        walk(node)
        return found
    }

    @Test(
        "read the way Open WebUI's resolver reads it, every body keeps each default, description and enum",
        arguments: SchemaCorpus.all)
    func openWebUIKeepsKeywords(text: String) throws {
        let definition = try tool(text)
        let document = singleServerDocument(ToolCatalog(tools: [definition]))
        guard let operation = document["paths"]?["/" + definition.name]?["post"] else {
            Issue.record("no operation for \(definition.name)")
            return
        }
        let body = operation["requestBody"]?["content"]?["application/json"]?["schema"] ?? [:]
        let resolved = Self.kept(in: Self.resolvedLikeOpenWebUI(body, in: document))
        // Remote references are never fetched: what they would hold is not the bridge's to keep.
        var expected = Self.kept(in: definition.inputSchema)
        if text.contains("https://") { expected = expected.filter { !$0.contains("https://") } }
        let lost = expected.subtracting(resolved)
        #expect(lost.isEmpty, "\(definition.name) lost \(lost.sorted())")
    }

    @Test("keywords beside a reference are merged into the component's schema; a reference alone stays one")
    func siblingsMerged() throws {
        let document = singleServerDocument(ToolCatalog(tools: [try tool(SchemaCorpus.siblings)]))
        let properties = try #require(document["components"]?["schemas"]?["profile_form_model"]?["properties"])
        #expect(
            properties["favorite_color"] == [
                "enum": ["red", "green", "blue"], "title": "Color", "type": "string", "default": "blue",
            ])
        #expect(properties["pet"]?["description"] == "The user's pet")
        #expect(properties["pet"]?["required"] == ["name"])
        #expect(properties["pet"]?["$ref"] == nil)
        #expect(properties["maybe_pet"]?["anyOf"]?[0]?["$ref"] == "#/components/schemas/profile_Pet")
    }

    @Test("a recursive component keeps its references: it cannot be written out whole")
    func recursionKept() throws {
        let document = singleServerDocument(ToolCatalog(tools: [try tool(SchemaCorpus.pydanticTree)]))
        #expect(document.text.contains("\"$ref\""))
        let graph = ComponentGraph(document: document)
        #expect(!graph.recursive.isEmpty)
    }

    @Test("3.0: one type with nullable, const as enum, example, boolean exclusive bounds, no 3.1-only keywords")
    func schemaKeywords() {
        #expect(OpenAPI30Renderer.schema30(["type": ["integer", "null"]]) == ["type": "integer", "nullable": true])
        #expect(
            OpenAPI30Renderer.schema30(["type": ["string", "integer"]]) == [
                "anyOf": [["type": "string"], ["type": "integer"]]
            ])
        #expect(OpenAPI30Renderer.schema30(["type": "null"]) == ["nullable": true])
        #expect(OpenAPI30Renderer.schema30(["const": "fixed"]) == ["enum": ["fixed"]])
        #expect(
            OpenAPI30Renderer.schema30(["type": "integer", "examples": [2, 4]]) == ["type": "integer", "example": 2])
        #expect(
            OpenAPI30Renderer.schema30(["type": "number", "exclusiveMinimum": 0])
                == ["type": "number", "exclusiveMinimum": true, "minimum": 0])
        #expect(
            OpenAPI30Renderer.schema30([
                "anyOf": [["type": "string", "maxLength": 3], ["nullable": true]], "default": nil,
            ])
                == ["default": nil, "nullable": true, "type": "string", "maxLength": 3])
        #expect(OpenAPI30Renderer.schema30(["type": "array"]) == ["type": "array", "items": [:]])
        #expect(
            OpenAPI30Renderer.schema30(["type": "string", "contentMediaType": "text/plain", "$schema": "x"])
                == ["type": "string"])
    }

    @Test("3.0: bodies without references, a property named like a keyword left alone, recursive components kept")
    func rendering() throws {
        let document = singleServerDocument(
            ToolCatalog(tools: [
                try tool(SchemaCorpus.createOrder), try tool(SchemaCorpus.pydanticTree),
                try tool(
                    #"{"name": "odd", "inputSchema": {"type": "object", "properties": {"type": {"type": "string"}, "const": {"const": 1}}}}"#
                ),
            ]), apiKeyRequired: true)
        let rendered = OpenAPI30Renderer.render(document)
        #expect(rendered["openapi"] == "3.0.3")
        let order = try #require(rendered["paths"]?["/create_order"]?["post"])
        #expect(!order.text.contains("$ref"), "\(order.text)")
        #expect(
            order["requestBody"]?["content"]?["application/json"]?["schema"]?["properties"]?["note"]?["nullable"]
                == true)
        let odd = try #require(
            rendered["paths"]?["/odd"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"])
        #expect(odd["properties"]?["type"] == ["type": "string"])
        #expect(odd["properties"]?["const"] == ["enum": [1]])
        let schemas = try #require(rendered["components"]?["schemas"]?.objectValue)
        #expect(!schemas.isEmpty)
        for (name, _) in schemas {
            #expect(
                ComponentGraph(document: document).recursive.contains(name)
                    || rendered.text.contains("#/components/schemas/\(name)"))
        }
        #expect(rendered["components"]?["securitySchemes"] != nil)
    }

    @Test("an aggregated operationId over 64 characters shortens the server's part first, keeping the tool's name")
    func operationIds() {
        let id = OpenAPIGenerator.sectionOperationId(
            "tool_compute_something_for_limits_post", prefix: "other_server_with_a_rather_long_name_")
        #expect(id == "tool_other_server_with_a_rathe_compute_something_for_limits_post")
        #expect(id.utf8.count == 64)
        #expect(OpenAPIGenerator.sectionOperationId("tool_echo_post", prefix: "fast_") == "tool_fast_echo_post")
        #expect(
            OpenAPIGenerator.sectionOperationId("resources_read_get", prefix: "notes_") == "notes_resources_read_get")
    }
}

@Suite struct CompactProfileTests {
    @Test("summaries and descriptions of operations at most 300 characters, descriptions below them at most 700")
    func limits() throws {
        let long = String(repeating: "é", count: 900)
        let definition = try tool(
            #"{"name": "t", "description": "\#(long)", "inputSchema": {"type": "object", "properties": {"a": {"type": "string", "description": "\#(long)"}}}}"#
        )
        let document = CompactProfile.apply(singleServerDocument(ToolCatalog(tools: [definition])))
        let operation = try #require(document["paths"]?["/t"]?["post"])
        let description = try #require(operation["description"]?.stringValue)
        #expect(description.count == 300)
        #expect(description.hasSuffix("…"))
        let property = try #require(document["components"]?["schemas"]?["t_form_model"]?["properties"]?["a"])
        #expect(property["description"]?.stringValue?.count == 700)
        #expect(CompactProfile.cut("short", to: 300) == "short")
    }
}
