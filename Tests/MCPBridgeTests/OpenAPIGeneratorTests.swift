import JSONValue
import Testing

@testable import MCPBridge

@Suite struct OpenAPIDocumentShape {
    @Test func topLevelKeysInfoAndServers() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.echo))
        #expect(document.objectValue.map { Array($0.keys) } == ["openapi", "info", "paths", "components"])
        #expect(document["openapi"] == "3.1.0")
        #expect(document["info"] == ["title": "demo", "description": "Demo server", "version": "1.0"])

        let withServers = OpenAPIGenerator.document(
            options: OpenAPIOptions(
                info: OpenAPIInfo(title: "t", version: "2"), servers: ["/fast", "https://x.example"]),
            sections: [OpenAPISection(catalog: try catalog(SchemaCorpus.pixel))]
        )
        #expect(
            withServers.objectValue.map { Array($0.keys) } == ["openapi", "info", "servers", "paths", "components"])
        #expect(withServers["info"] == ["title": "t", "version": "2"])
        #expect(withServers["servers"] == [["url": "/fast"], ["url": "https://x.example"]])
    }

    @Test func operationWithoutArgumentsIsExact() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.pixel))
        let error = { (description: String) in
            ##"{"description":"\##(description)","content":{"application/json":{"schema":{"$ref":"#/components/schemas/ErrorResponse"}}}}"##
        }
        let expected =
            ##"{"post":{"summary":"Pixel","description":"Returns a 1x1 PNG image.","operationId":"tool_pixel_post","responses":{"200":{"description":"Successful Response","content":{"application/json":{"schema":{"title":"Response Tool Pixel Post"}}}},"##
            + ##""500":\##(error("Tool error (isError) or upstream JSON-RPC error")),"502":\##(error("Upstream MCP server disconnected")),"503":\##(error("Upstream MCP server unavailable")),"504":\##(error("Upstream call timed out"))},"x-mcp-risk":"medium","x-openai-isConsequential":true}}"##
        #expect(document["paths"]?["/pixel"]?.text == expected)
        #expect(document.at("components", "schemas").flatMap(\.objectValue).map { Array($0.keys) } == ["ErrorResponse"])
        #expect(document.at("components", "securitySchemes") == nil)
    }

    @Test func createOrderMatchesMcpoNamesAndKeepsTheSchemaWhole() throws {
        let source = try tool(SchemaCorpus.createOrder)
        let document = singleServerDocument(ToolCatalog(tools: [source]))
        let operation = try #require(document.at("paths", "/create_order", "post"))
        #expect(
            operation.objectValue.map { Array($0.keys) } == [
                "summary", "description", "operationId", "requestBody", "responses", "x-mcp-risk",
                "x-openai-isConsequential",
            ])
        #expect(operation["summary"] == "Create Order")
        #expect(operation["operationId"] == "tool_create_order_post")
        #expect(
            operation["requestBody"]
                == [
                    "content": [
                        "application/json": ["schema": ["$ref": "#/components/schemas/create_order_form_model"]]
                    ],
                    "required": true,
                ]
        )
        #expect(
            operation.at("responses", "200", "content", "application/json", "schema") == [
                "title": "Response Tool Create Order Post"
            ])
        #expect(
            operation["responses"]?.objectValue.map { Array($0.keys) } == ["200", "422", "500", "502", "503", "504"])
        #expect(
            operation.at("responses", "422", "content", "application/json", "schema")
                == ["$ref": "#/components/schemas/HTTPValidationError"]
        )

        let schemas = try #require(document.at("components", "schemas"))
        #expect(
            schemas.objectValue.map { Array($0.keys) } == [
                "create_order_form_model", "create_order_Item", "create_order_Address", "HTTPValidationError",
                "ValidationError", "ErrorResponse",
            ]
        )
        let names = ["#/$defs/Item": "create_order_Item", "#/$defs/Address": "create_order_Address"]
        #expect(schemas["create_order_form_model"] == expectedComponent(source.inputSchema, names: names))
        #expect(schemas["create_order_form_model"]?["$defs"] == nil)
        #expect(schemas["create_order_Item"] == source.inputSchema.at("$defs", "Item"))
        #expect(schemas["create_order_Address"] == source.inputSchema.at("$defs", "Address"))
        // What mcpo lost: the enum, minimum, MCP titles and `default: null`.
        #expect(schemas.at("create_order_form_model", "properties", "priority", "enum") == ["low", "normal", "high"])
        #expect(schemas.at("create_order_Item", "properties", "qty", "minimum") == 1)
        #expect(schemas.at("create_order_form_model", "properties", "note", "default") == .null)
        #expect(
            schemas.at("create_order_form_model", "properties", "customer") == ["title": "Customer", "type": "string"])
        expectLocalReferencesResolve(document)
    }

    @Test func outputSchemaBecomesTheResponseModel() throws {
        let source = try tool(SchemaCorpus.echo)
        let document = singleServerDocument(ToolCatalog(tools: [source]))
        #expect(
            document.at("paths", "/echo", "post", "responses", "200", "content", "application/json", "schema")
                == ["$ref": "#/components/schemas/echo_response_model"]
        )
        #expect(document.at("components", "schemas", "echo_response_model") == source.outputSchema)
    }

    @Test func onlyOptionalArgumentsMakeAnOptionalBody() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.explode))
        #expect(document.at("paths", "/explode", "post", "requestBody", "required") == false)
    }

    @Test func apiKeyAddsSecurityAndAuthAnswers() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.echo), apiKeyRequired: true)
        let operation = try #require(document.at("paths", "/echo", "post"))
        #expect(operation["security"] == [["HTTPBearer": []]])
        #expect(
            operation["responses"]?.objectValue.map { Array($0.keys) } == [
                "200", "401", "403", "422", "500", "502", "503", "504",
            ])
        #expect(operation.at("responses", "401", "description") == "Missing or invalid Authorization header")
        #expect(operation.at("responses", "403", "description") == "Invalid API key")
        #expect(document.at("components", "securitySchemes") == ["HTTPBearer": ["type": "http", "scheme": "bearer"]])
        #expect(document["components"]?.objectValue.map { Array($0.keys) } == ["schemas", "securitySchemes"])
    }

    @Test func summariesFollowPythonTitle() {
        #expect(Naming.summary(forTool: "create_order") == "Create Order")
        #expect(Naming.summary(forTool: "dash-name.v2") == "Dash-Name.V2")
        #expect(Naming.summary(forTool: "get_HTTP_url2x") == "Get Http Url2X")
        #expect(Naming.responseTitle(operationId: "tool_dash_name_v2_post") == "Response Tool Dash Name V2 Post")
    }

    @Test("RFC 6901 escapes: ~1 is /, ~0 is ~, ~1 is undone before ~0, stray ~ kept")
    func pointerSegmentsUndoEscapes() {
        #expect(JSONPointer.segments(of: "/a~1b/c~0d/~01/~/x~2/") == ["a/b", "c~d", "~1", "~", "x~2", ""])
        #expect(JSONPointer.segments(of: "/$defs/Plain") == ["$defs", "Plain"])
    }

    @Test func dashedNameKeepsItsPathAndGetsMcposOperationId() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.dashName))
        let operation = try #require(document.at("paths", "/dash-name.v2", "post"))
        #expect(operation["summary"] == "Dash-Name.V2")
        #expect(operation["operationId"] == "tool_dash_name_v2_post")
        #expect(
            operation.at("requestBody", "content", "application/json", "schema")
                == ["$ref": "#/components/schemas/dash-name.v2_form_model"]
        )
    }

    @Test func componentNamesAreSanitized() throws {
        let odd = ToolDefinition(
            name: "weird name/é", inputSchema: ["type": "object", "properties": ["q": ["type": "string"]]])
        let document = singleServerDocument(ToolCatalog(tools: [odd]))
        let operation = try #require(document.at("paths", "/weird name/é", "post"))
        #expect(operation["operationId"] == "tool_weird_name___post")
        #expect(
            operation.at("requestBody", "content", "application/json", "schema") == [
                "$ref": "#/components/schemas/weird_name___form_model"
            ]
        )
        expectLocalReferencesResolve(document)
    }
}

@Suite struct ReferenceRewriting {
    @Test func zodPointerIntoOwnPropertiesIsRecursive() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.recursivePropsRef))
        let schemas = try #require(document.at("components", "schemas"))
        #expect(
            schemas.objectValue.map { Array($0.keys) } == [
                "recursive_props_ref_form_model", "recursive_props_ref_data", "HTTPValidationError", "ValidationError",
                "ErrorResponse",
            ]
        )
        let selfReference: JSON = ["$ref": "#/components/schemas/recursive_props_ref_data"]
        #expect(schemas.at("recursive_props_ref_data", "properties", "children", "items") == selfReference)
        #expect(
            schemas.at("recursive_props_ref_form_model", "properties", "data", "properties", "children", "items")
                == selfReference)
        #expect(expectLocalReferencesResolve(document) == 9)
    }

    @Test func recursiveDefsBecomeOneSelfReferencingComponent() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.tree, SchemaCorpus.pydanticTree))
        let schemas = try #require(document.at("components", "schemas"))
        #expect(schemas.at("tree_form_model", "properties", "root") == ["$ref": "#/components/schemas/tree_Node"])
        #expect(
            schemas.at("tree_Node", "properties", "children", "items") == ["$ref": "#/components/schemas/tree_Node"])
        #expect(
            schemas.at("walk_Node", "properties", "children") == [
                "default": [], "items": ["$ref": "#/components/schemas/walk_Node"], "title": "Children",
                "type": "array",
            ])
        expectLocalReferencesResolve(document)
    }

    @Test func rootRecursionPointsAtTheFormModel() throws {
        let source = try tool(SchemaCorpus.rootRecursion)
        let document = singleServerDocument(ToolCatalog(tools: [source]))
        let model = try #require(document.at("components", "schemas", "outline_form_model"))
        #expect(model == expectedComponent(source.inputSchema, names: ["#": "outline_form_model"]))
        #expect(model.at("properties", "subsections", "items") == ["$ref": "#/components/schemas/outline_form_model"])
        expectLocalReferencesResolve(document)
    }

    @Test func zodRootPointersIntoAnyOfBranchesBecomeOneComponent() throws {
        let source = try tool(SchemaCorpus.sendMail)
        let document = singleServerDocument(ToolCatalog(tools: [source]))
        let schemas = try #require(document.at("components", "schemas"))
        let pointer = "#/properties/body/anyOf/1/properties/Message/properties/toRecipients/items"
        let name = "send-mail_body_anyOf_1_Message_toRecipients_items"
        #expect(
            schemas.objectValue.map { Array($0.keys) } == [
                "send-mail_form_model", name, "HTTPValidationError", "ValidationError", "ErrorResponse",
            ])
        #expect(schemas["send-mail_form_model"] == expectedComponent(source.inputSchema, names: [pointer: name]))
        #expect(schemas["send-mail_form_model"]?["$schema"] == nil)
        #expect(
            schemas[name]
                == source.inputSchema.at("properties", "body").flatMap {
                    JSONPointer.value(
                        at: ["anyOf", "1", "properties", "Message", "properties", "toRecipients", "items"], in: $0)
                })
        #expect(expectLocalReferencesResolve(document) == 9)
    }

    @Test func draft07DefinitionsEscapesAnchorsAndOldSpellings() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.draft07))
        let schemas = try #require(document.at("components", "schemas"))
        // `$schema`, `$id` and `definitions` are gone; pointers with `~1` and `%25` and the anchor resolve.
        #expect(
            schemas["legacy_form_model"] == [
                "type": "object",
                "properties": [
                    "slashed": ["$ref": "#/components/schemas/legacy_a_b"],
                    "percent": ["$ref": "#/components/schemas/legacy_percent_"],
                    "anchored": ["$ref": "#/components/schemas/legacy_Named"],
                    "pair": ["$ref": "#/components/schemas/legacy_Pair"],
                ],
            ]
        )
        #expect(schemas["legacy_a_b"] == ["type": "string", "maxLength": 5])
        #expect(schemas["legacy_percent_"] == ["type": "integer", "exclusiveMinimum": 0])
        #expect(schemas["legacy_Named"] == ["type": "boolean"])
        #expect(
            schemas["legacy_Pair"] == [
                "type": "array", "prefixItems": [["type": "string"], ["type": "integer"]], "items": false,
            ])
        expectLocalReferencesResolve(document)
    }

    @Test func externalAndDanglingReferencesAreNeitherFetchedNorPublished() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.remoteRefs))
        #expect(
            document.at("components", "schemas", "remote_form_model", "properties") == [
                "web": ["x-external-ref": "https://example.com/schemas/thing.json"],
                "sibling": ["x-external-ref": "other.json#/definitions/X"],
                "dangling": ["x-unresolved-ref": "#/$defs/Missing", "description": "points nowhere"],
            ]
        )
        #expect(allReferences(in: document).allSatisfy { $0.0.hasPrefix("#/components/schemas/") })
    }

    @Test func sameDefNameInTwoToolsDoesNotCollideAndOneDefIsOneComponent() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.collidingA, SchemaCorpus.collidingB))
        let schemas = try #require(document.at("components", "schemas"))
        #expect(
            schemas.objectValue.map { Array($0.keys) } == [
                "a-b_form_model", "a-b_Item", "HTTPValidationError", "ValidationError", "ErrorResponse",
                "a_b_form_model", "a_b_Item",
            ]
        )
        #expect(schemas.at("a-b_Item", "properties") == ["sku": ["type": "string"]])
        #expect(schemas.at("a_b_Item", "properties") == ["id": ["type": "integer"]])
        #expect(schemas.at("a_b_form_model", "properties", "again") == ["$ref": "#/components/schemas/a_b_Item"])
        #expect(document.at("paths", "/a-b", "post", "operationId") == "tool_a_b_post")
        #expect(document.at("paths", "/a_b", "post", "operationId") == "tool_a_b_post_2")
        expectLocalReferencesResolve(document)
    }

    @Test("operationIds longer than 64 characters are cut with a hash: distinct, stable, function-name safe")
    func longOperationIdsAreCapped() throws {
        let long = String(repeating: "fetch_the_quarterly_report_", count: 3)
        let names = [long + "for_sales", long + "for_support", "short"]
        let catalog = ToolCatalog(tools: names.map { ToolDefinition(name: $0, inputSchema: ["type": "object"]) })
        let document = singleServerDocument(catalog)
        let ids = ["/" + long + "for_sales", "/" + long + "for_support", "/short"].compactMap {
            document.at("paths", $0, "post", "operationId")?.stringValue
        }
        #expect(ids.count == 3)
        #expect(Set(ids).count == 3)
        for id in ids {
            let functionNameSafe = id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            #expect(id.count <= 64 && functionNameSafe, "\(id)")
        }
        #expect(ids[2] == "tool_short_post", "short names are mcpo's")
        #expect(ids[0].hasPrefix("tool_fetch_the_quarterly_report_fetch_the_quarterly_rep_") && ids[0].count == 64)
        #expect(singleServerDocument(catalog) == document, "the same tools, the same ids")
        // Suffixes for repeats are capped as well.
        var unique = UniqueNames()
        let first = unique.claim("tool_" + long + "post", shape: Naming.capped(operationId:))
        let second = unique.claim("tool_" + long + "post", shape: Naming.capped(operationId:))
        #expect(first != second && first.count == 64 && second.count == 64)
    }

    @Test func derivedNamesThatClashGetSuffixes() throws {
        // `#/$defs/form_model` would be called `x_form_model`, the name of the tool's own model.
        let clash = ToolDefinition(
            name: "x",
            inputSchema: [
                "type": "object", "properties": ["a": ["$ref": "#/$defs/form_model"]],
                "$defs": ["form_model": ["type": "string"]],
            ]
        )
        let document = singleServerDocument(ToolCatalog(tools: [clash]))
        #expect(
            document.at("components", "schemas", "x_form_model", "properties", "a") == [
                "$ref": "#/components/schemas/x_form_model_2"
            ])
        #expect(document.at("components", "schemas", "x_form_model_2") == ["type": "string"])
    }

    @Test func nestedDefsInsideASubschema() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.nestedDefs))
        let schemas = try #require(document.at("components", "schemas"))
        #expect(
            schemas.at("nested_defs_form_model", "properties", "filter") == [
                "type": "object", "properties": ["range": ["$ref": "#/components/schemas/nested_defs_filter_Range"]],
            ]
        )
        #expect(schemas.at("nested_defs_filter_Range", "properties", "to") == ["type": "integer"])
        expectLocalReferencesResolve(document)
    }

    @Test func discriminatorMappingFollowsItsTargets() throws {
        let document = singleServerDocument(try catalog(SchemaCorpus.area))
        #expect(
            document.at("components", "schemas", "area_form_model", "properties", "shape", "discriminator") == [
                "mapping": [
                    "circle": "#/components/schemas/area_Circle", "square": "#/components/schemas/area_Square",
                ],
                "propertyName": "kind",
            ]
        )
        #expect(expectLocalReferencesResolve(document) == 10)
    }

    @Test func everyKeywordSurvives() throws {
        let source = try tool(SchemaCorpus.keywordZoo)
        let document = singleServerDocument(ToolCatalog(tools: [source]))
        var expected = source.inputSchema
        // The one change: `default: null` on a non-nullable integer would make validators refuse the document.
        expected["properties"]?["count"] = [
            "type": "integer", "minimum": 1, "maximum": 10, "multipleOf": 2, "x-default": nil, "examples": [2, 4],
        ]
        #expect(document.at("components", "schemas", "keyword_zoo_form_model") == expected)
        #expect(
            document.at("components", "schemas", "keyword_zoo_form_model", "properties", "maybe", "default") == .null)
    }

    @Test func schemaKeysInDataAreNotReferences() throws {
        let schema: JSON = [
            "type": "object",
            "properties": [
                "$ref": ["type": "string", "default": "#/$defs/Nope"], "v": ["const": ["$ref": "#/$defs/Nope"]],
            ],
        ]
        let document = singleServerDocument(ToolCatalog(tools: [ToolDefinition(name: "data", inputSchema: schema)]))
        #expect(document.at("components", "schemas", "data_form_model") == schema)
    }
}

@Suite struct SectionsAndDeterminism {
    static let corpus = [
        SchemaCorpus.createOrder, SchemaCorpus.echo, SchemaCorpus.explode, SchemaCorpus.pixel, SchemaCorpus.schemaZoo,
        SchemaCorpus.echoArgs, SchemaCorpus.dashName, SchemaCorpus.recursivePropsRef, SchemaCorpus.structured,
        SchemaCorpus.tree, SchemaCorpus.pydanticTree, SchemaCorpus.area, SchemaCorpus.sendMail,
        SchemaCorpus.rootRecursion,
        SchemaCorpus.draft07, SchemaCorpus.remoteRefs, SchemaCorpus.collidingA, SchemaCorpus.collidingB,
        SchemaCorpus.nestedDefs, SchemaCorpus.keywordZoo,
    ]

    static func aggregated() throws -> JSON {
        let tools = ToolCatalog(tools: try corpus.map(tool))
        return OpenAPIGenerator.document(
            options: OpenAPIOptions(
                info: OpenAPIInfo(title: "all", version: "1"), servers: ["/api"], apiKeyRequired: true),
            sections: [
                OpenAPISection(
                    pathPrefix: "/low", componentPrefix: "low_", operationIdPrefix: "low_", catalog: tools, tag: "low"),
                OpenAPISection(
                    pathPrefix: "/fast", componentPrefix: "fast_", operationIdPrefix: "fast_", catalog: tools,
                    tag: "fast"),
            ]
        )
    }

    @Test func wholeCorpusIsByteIdenticalAcrossBuilds() throws {
        let first = try Self.aggregated().bytes
        let second = try Self.aggregated().bytes
        #expect(first == second)
        #expect(first.count > 10_000)
    }

    @Test func wholeCorpusReferencesResolve() throws {
        let document = try Self.aggregated()
        #expect(expectLocalReferencesResolve(document) > 200)
        #expect(document["paths"]?.objectValue?.count == 2 * Self.corpus.count)
    }

    @Test func sectionsPrefixPathsComponentsAndOperationIds() throws {
        let document = try Self.aggregated()
        let operation = try #require(document.at("paths", "/fast/echo", "post"))
        #expect(operation["tags"] == ["fast"])
        #expect(operation["operationId"] == "tool_fast_echo_post")
        #expect(
            operation.at("requestBody", "content", "application/json", "schema") == [
                "$ref": "#/components/schemas/fast_echo_form_model"
            ])
        #expect(
            operation.at("responses", "200", "content", "application/json", "schema") == [
                "$ref": "#/components/schemas/fast_echo_response_model"
            ])
        #expect(document.at("paths", "/low/a_b", "post", "operationId") == "tool_low_a_b_post_2")
        #expect(
            document.at("paths", "/low/pixel", "post", "responses", "200", "content", "application/json", "schema") == [
                "title": "Response Tool Low Pixel Post"
            ])
        #expect(document.at("components", "schemas", "low_tree_Node") != nil)
        #expect(document.at("components", "schemas", "fast_tree_Node") != nil)
    }

    @Test func operationIdsStayUniqueAcrossSections() throws {
        let first = ToolCatalog(tools: [ToolDefinition(name: "y", inputSchema: ["type": "object"])])
        let second = ToolCatalog(tools: [ToolDefinition(name: "_y", inputSchema: ["type": "object"])])
        let document = OpenAPIGenerator.document(
            options: OpenAPIOptions(info: OpenAPIInfo(title: "t", version: "1")),
            sections: [
                OpenAPISection(pathPrefix: "/x_", operationIdPrefix: "x_", catalog: first),
                OpenAPISection(pathPrefix: "/x", operationIdPrefix: "x", catalog: second),
            ]
        )
        #expect(document.at("paths", "/x_/y", "post", "operationId") == "tool_x_y_post")
        #expect(document.at("paths", "/x/_y", "post", "operationId") == "tool_x_y_post_2")
    }
}

@Suite struct OddSchemas {
    @Test func nonSchemaValuesOfSchemaKeywordsStayAsWritten() {
        let schema: JSON = [
            "type": "object", "properties": ["a": ["not": "oops", "items": 3, "allOf": [1, ["type": "string"]]]],
        ]
        let document = singleServerDocument(ToolCatalog(tools: [ToolDefinition(name: "odd", inputSchema: schema)]))
        #expect(document.at("components", "schemas", "odd_form_model") == schema)
    }
}

extension OddSchemas {
    @Test func nonSchemaValuesConstrainNothing() {
        let validator = ArgumentValidator(inputSchema: [
            "type": "object", "properties": ["a": ["not": "oops", "if": 1, "then": false]],
        ])
        #expect(validator.validate(["a": 1]) == .success(["a": 1]))
    }
}
