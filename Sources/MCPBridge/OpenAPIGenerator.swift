import JSONValue
import MCPOConfig

public struct OpenAPIInfo: Sendable {
    public var title: String
    public var description: String?
    public var version: String

    public init(title: String, description: String? = nil, version: String) {
        self.title = title
        self.description = description
        self.version = version
    }
}

/// A group of tools placed in one document under a path prefix: single-server mode uses one section with
/// prefix `""`; an aggregated config-mode document uses one section per server (`"/<server>"`).
public struct OpenAPISection: Sendable {
    /// Prepended to every tool path: `""` or `"/fast"`.
    public var pathPrefix: String
    /// Prepended to every component schema name of this section, e.g. `"fast_"` → `fast_echo_form_model`.
    public var componentPrefix: String
    /// Inserted after `tool_` in every operationId of this section: `"fast_"` turns `tool_echo_post` into
    /// `tool_fast_echo_post`, so ids stay in mcpo's `tool_…_post` shape while naming the server. Empty for
    /// per-server documents, which keeps mcpo's ids exactly.
    public var operationIdPrefix: String
    public var catalog: ToolCatalog
    /// When set, every operation of the section is tagged with it (Swagger UI groups by tag).
    public var tag: String?

    public init(
        pathPrefix: String = "",
        componentPrefix: String = "",
        operationIdPrefix: String = "",
        catalog: ToolCatalog,
        tag: String? = nil
    ) {
        self.pathPrefix = pathPrefix
        self.componentPrefix = componentPrefix
        self.operationIdPrefix = operationIdPrefix
        self.catalog = catalog
        self.tag = tag
    }
}

public struct OpenAPIOptions: Sendable {
    public var info: OpenAPIInfo
    /// URLs for the top-level `servers` array; the key is omitted when empty.
    public var servers: [String]
    /// Declares bearer authentication on every operation, with its 401 and 403 answers.
    public var apiKeyRequired: Bool

    public init(info: OpenAPIInfo, servers: [String] = [], apiKeyRequired: Bool = false) {
        self.info = info
        self.servers = servers
        self.apiKeyRequired = apiKeyRequired
    }
}

/// Builds the OpenAPI 3.1.0 document for one or more sections of tools.
///
/// Same input, same bytes: paths follow the sections and their catalogs, components appear in the order
/// they are first used, and every object is written with a fixed key order.
public enum OpenAPIGenerator {
    public static func document(options: OpenAPIOptions, sections: [OpenAPISection]) -> JSON {
        var components = SchemaComponents(reserved: StockSchemas.names)
        var operationIds = UniqueNames()
        var paths: JSON = [:]
        for section in sections {
            for operation in section.catalog.operations {
                let path = section.pathPrefix + operation.path
                // Two sections serving the same path: the first one is what the router will reach.
                guard paths[path] == nil else { continue }
                let operationId = operationIds.claim(
                    sectionOperationId(operation.operationId, prefix: section.operationIdPrefix),
                    shape: Naming.capped(operationId:))
                let item = OperationBuilder(
                    operation: operation,
                    operationId: operationId,
                    section: section,
                    apiKeyRequired: options.apiKeyRequired
                ).build(into: &components)
                paths[path] = .object([operation.kind.httpMethod.lowercased(): item])
            }
        }

        var document: JSON = ["openapi": "3.1.0"]
        var info: JSON = ["title": .string(options.info.title)]
        if let description = options.info.description { info["description"] = .string(description) }
        info["version"] = .string(options.info.version)
        document["info"] = info
        if !options.servers.isEmpty {
            document["servers"] = .array(options.servers.map { ["url": .string($0)] })
        }
        document["paths"] = paths
        var componentsObject: JSON = ["schemas": components.schemas]
        if options.apiKeyRequired {
            componentsObject["securitySchemes"] = ["HTTPBearer": ["type": "http", "scheme": "bearer"]]
        }
        document["components"] = componentsObject
        return ReferenceSiblings.merge(document)
    }

    /// `tool_<server>_<tool>_post`. One longer than 64 characters has its server's part shortened first (to no less
    /// than one character), so the end of the tool's name, which tells tools apart, survives; only what is still too
    /// long is cut and hashed (`Naming.capped`).
    static func sectionOperationId(_ operationId: String, prefix: String) -> String {
        guard !prefix.isEmpty else { return operationId }
        let isTool = operationId.hasPrefix("tool_")
        let head = isTool ? "tool_" : ""
        let rest = isTool ? String(operationId.dropFirst(head.count)) : operationId
        var server = Naming.asciiWord(prefix)
        let room = Naming.maxOperationIdLength - head.utf8.count - rest.utf8.count
        if server.utf8.count > room, room >= 2, server.hasSuffix("_") {
            server = String(server.prefix(room - 1)) + "_"
        }
        return head + server + rest
    }
}

/// One `post` operation object.
private struct OperationBuilder {
    let operation: ToolOperation
    let operationId: String
    let section: OpenAPISection
    let apiKeyRequired: Bool

    func build(into components: inout SchemaComponents) -> JSON {
        let tool = operation.tool
        let toolKey = section.componentPrefix + tool.name
        var item: JSON = [:]
        if let tag = section.tag { item["tags"] = [.string(tag)] }
        let isTool = operation.kind == .tool
        item["summary"] = .string(isTool ? Naming.summary(forTool: tool.name) : tool.title ?? tool.name)
        if let description = tool.description { item["description"] = .string(description) }
        item["operationId"] = .string(operationId)
        if operation.kind == .resourceRead {
            item["parameters"] = [
                [
                    "name": "uri", "in": "query", "required": true,
                    "description": tool.inputSchema["properties"]?["uri"]?["description"] ?? "The resource's URI",
                    "schema": ["type": "string"],
                ]
            ]
        }
        if operation.hasBody {
            let formModel = components.addToolSchema(
                operation.requestSchema,
                preferredName: toolKey + "_form_model",
                derivedPrefix: toolKey + "_"
            )
            item["requestBody"] = [
                "content": ["application/json": ["schema": SchemaComponents.reference(to: formModel)]],
                "required": .bool(operation.bodyRequired),
            ]
        }

        let successSchema: JSON
        if let outputSchema = tool.outputSchema, SchemaTree.isSchema(outputSchema) {
            let responseModel = components.addToolSchema(
                outputSchema,
                preferredName: toolKey + "_response_model",
                derivedPrefix: toolKey + "_response_"
            )
            successSchema = SchemaComponents.reference(to: responseModel)
        } else {
            successSchema = ["title": .string(Naming.responseTitle(operationId: operationId))]
        }
        var responses: JSON = ["200": response("Successful Response", schema: successSchema)]
        if apiKeyRequired {
            responses["401"] = errorResponse("Missing or invalid Authorization header", &components)
            responses["403"] = errorResponse("Invalid API key", &components)
        }
        if operation.kind == .resourceRead {
            responses["200"] = [
                "description":
                    "The resource: one text content as its text with its type, one blob as its bytes, several as a JSON array",
                "content": ["*/*": ["schema": [:]]],
            ]
            responses["404"] = errorResponse("No such resource", &components)
        }
        if operation.hasBody || operation.kind == .resourceRead {
            components.addStock(StockSchemas.httpValidationErrorName, StockSchemas.httpValidationError)
            components.addStock(StockSchemas.validationErrorName, StockSchemas.validationError)
            responses["422"] = response(
                "Validation Error",
                schema: SchemaComponents.reference(to: StockSchemas.httpValidationErrorName)
            )
        }
        if operation.pinChanged {
            responses["409"] = errorResponse("The tool's definition changed since it was approved", &components)
        }
        if let field = operation.confirmField {
            responses["428"] = errorResponse("Confirmation required: repeat with \"\(field)\": true", &components)
        }
        responses["500"] = errorResponse("Tool error (isError) or upstream JSON-RPC error", &components)
        responses["502"] = errorResponse("Upstream MCP server disconnected", &components)
        responses["503"] = errorResponse("Upstream MCP server unavailable", &components)
        responses["504"] = errorResponse("Upstream call timed out", &components)
        item["responses"] = responses
        if apiKeyRequired { item["security"] = [["HTTPBearer": []]] }
        guard isTool else {
            item["x-openai-isConsequential"] = false
            return item
        }
        item["x-mcp-risk"] = .string(operation.risk.rawValue)
        if let annotations = tool.annotations { item["x-mcp-annotations"] = annotations }
        item["x-openai-isConsequential"] = .bool(operation.risk != .low)
        if operation.pinChanged { item["x-mcp-pin"] = "changed" }
        return item
    }

    private func response(_ description: String, schema: JSON) -> JSON {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    private func errorResponse(_ description: String, _ components: inout SchemaComponents) -> JSON {
        components.addStock(StockSchemas.errorResponseName, StockSchemas.errorResponse)
        return response(description, schema: SchemaComponents.reference(to: StockSchemas.errorResponseName))
    }
}

/// The fixed components every document may use.
enum StockSchemas {
    static let httpValidationErrorName = "HTTPValidationError"
    static let validationErrorName = "ValidationError"
    static let errorResponseName = "ErrorResponse"
    static let names = [httpValidationErrorName, validationErrorName, errorResponseName]

    /// FastAPI's stock 422 body.
    static let httpValidationError: JSON = [
        "properties": [
            "detail": [
                "items": ["$ref": "#/components/schemas/ValidationError"], "type": "array", "title": "Detail",
            ]
        ],
        "type": "object",
        "title": "HTTPValidationError",
    ]

    /// FastAPI's stock item, plus the `input` and `ctx` members pydantic v2 adds (and we send).
    static let validationError: JSON = [
        "properties": [
            "loc": [
                "items": ["anyOf": [["type": "string"], ["type": "integer"]]], "type": "array", "title": "Location",
            ],
            "msg": ["type": "string", "title": "Message"],
            "type": ["type": "string", "title": "Error Type"],
            "input": ["title": "Input"],
            "ctx": ["type": "object", "title": "Context"],
        ],
        "type": "object",
        "required": ["loc", "msg", "type"],
        "title": "ValidationError",
    ]

    /// Every non-422 error body: `{"detail": "text"}` or `{"detail": {"message": …, "data"?: …}}`.
    static let errorResponse: JSON = [
        "properties": [
            "detail": [
                "anyOf": [
                    ["type": "string"],
                    [
                        "properties": [
                            "message": ["type": "string", "title": "Message"],
                            "data": ["title": "Data"],
                            "structuredContent": ["title": "Structured Content"],
                        ],
                        "type": "object",
                        "required": ["message"],
                    ],
                ],
                "title": "Detail",
            ]
        ],
        "type": "object",
        "required": ["detail"],
        "title": "ErrorResponse",
    ]
}
