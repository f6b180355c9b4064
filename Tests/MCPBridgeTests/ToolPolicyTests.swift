import JSONValue
import MCPOConfig
import Testing

@testable import MCPBridge

/// Risk classes, the confirmation field and the pinned-definition marker, as the documents show them.
@Suite struct ToolPolicyTests {
    static func definition(_ name: String, annotations: JSON? = nil, properties: JSON = ["text": ["type": "string"]])
        -> ToolDefinition
    {
        ToolDefinition(
            name: name, inputSchema: ["type": "object", "properties": properties, "required": ["text"]],
            annotations: annotations)
    }

    @Test(
        "risk from annotations: read-only low, destructive high, anything else medium; toolRisk overrides, first match")
    func risks() {
        let reader = Self.definition("get_menu", annotations: ["readOnlyHint": true])
        let destroyer = Self.definition("drop_table", annotations: ["destructiveHint": true])
        let plain = Self.definition("cook")
        #expect(ToolPolicy.none.risk(of: reader) == .low)
        #expect(ToolPolicy.none.risk(of: destroyer) == .high)
        #expect(ToolPolicy.none.risk(of: plain) == .medium)
        #expect(ToolPolicy.none.risk(of: Self.definition("odd", annotations: ["readOnlyHint": false])) == .medium)
        let policy = ToolPolicy(riskRules: [("drop_*", .low), ("*", .high), ("cook", .low)])
        #expect(policy.risk(of: destroyer) == .low, "the first matching glob decides")
        #expect(policy.risk(of: plain) == .high)
        #expect(policy.risk(of: reader) == .high, "toolRisk overrides the annotations")
    }

    @Test("documents: x-mcp-risk, x-mcp-annotations and x-openai-isConsequential on every operation")
    func extensions() throws {
        let catalog = ToolCatalog(tools: [
            Self.definition("get_menu", annotations: ["readOnlyHint": true, "title": "Menu"]),
            Self.definition("drop_table", annotations: ["destructiveHint": true]),
        ])
        let document = singleServerDocument(catalog)
        let reader = try #require(document.at("paths", "/get_menu", "post"))
        #expect(reader["x-mcp-risk"] == "low")
        #expect(reader["x-openai-isConsequential"] == false)
        #expect(reader["x-mcp-annotations"] == ["readOnlyHint": true, "title": "Menu"])
        let destroyer = try #require(document.at("paths", "/drop_table", "post"))
        #expect(destroyer["x-mcp-risk"] == "high")
        #expect(destroyer["x-openai-isConsequential"] == true)
        #expect(destroyer["responses"]?["428"] == nil, "no confirmation configured")
        #expect(destroyer["x-mcp-pin"] == nil)
    }

    @Test("confirm: the field is declared required in the request schema, with what happens; 428 documented")
    func confirmField() throws {
        let policy = ToolPolicy(confirm: .high)
        let catalog = ToolCatalog(
            tools: [
                Self.definition("drop_table", annotations: ["destructiveHint": true]),
                Self.definition("get_menu", annotations: ["readOnlyHint": true]),
                Self.definition(
                    "delete_all", annotations: ["destructiveHint": true],
                    properties: ["confirm": ["type": "string"], "text": ["type": "string"]]),
            ], policy: policy)
        #expect(catalog.operation(forPath: "/drop_table")?.confirmField == "confirm")
        #expect(catalog.operation(forPath: "/get_menu")?.confirmField == nil)
        #expect(
            catalog.operation(forPath: "/delete_all")?.confirmField == "mcpo_confirm",
            "the tool's own confirm keeps its name")
        let document = singleServerDocument(catalog)
        let schema = try #require(document.at("components", "schemas", "drop_table_form_model"))
        #expect(schema["properties"]?["confirm"]?["type"] == "boolean")
        #expect(schema["properties"]?["confirm"]?["description"]?.stringValue?.contains("428") == true)
        #expect(schema["required"] == ["text", "confirm"])
        let own = try #require(document.at("components", "schemas", "delete_all_form_model"))
        #expect(own["properties"]?["confirm"] == ["type": "string"])
        #expect(own["required"] == ["text", "mcpo_confirm"])
        #expect(document.at("paths", "/drop_table", "post", "responses", "428") != nil)
        #expect(document.at("paths", "/get_menu", "post", "responses", "428") == nil)

        let medium = ToolPolicy(confirm: .medium)
        #expect(medium.confirmField(for: Self.definition("cook"), risk: .medium) == "confirm")
        #expect(medium.confirmField(for: Self.definition("cook"), risk: .low) == nil)
    }

    @Test("a tool served as approved while a change waits is marked x-mcp-pin: changed, with its 409")
    func pinMarker() throws {
        let catalog = ToolCatalog(tools: [Self.definition("cook")], policy: ToolPolicy(changedTools: ["cook"]))
        let operation = try #require(singleServerDocument(catalog).at("paths", "/cook", "post"))
        #expect(operation["x-mcp-pin"] == "changed")
        #expect(operation["responses"]?["409"] != nil)
    }
}
