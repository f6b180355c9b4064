import JSONValue

/// Real tool definitions, as `tools/list` sends them, kept verbatim.
///
/// Sources: the FastMCP and low-level fixtures of `mcpo-captures/fixtures` (dumped with mcp 1.17.0 and
/// pydantic 2.11.7, the versions mcpo 0.0.20 was observed with), plus pydantic-generated recursive and
/// discriminated models, and zod-to-json-schema output in the shape ms-365-mcp-server publishes.
enum SchemaCorpus {
    /// FastMCP `create_order(customer, priority: Literal, items: List[Item], address: Address, tags=[], note=None, discount=0.0, gift=False)`.
    static let createOrder = #"""
        {"name": "create_order", "description": "Create an order (nested object + enum + array + optional params).", "inputSchema": {"$defs": {"Address": {"properties": {"street": {"description": "Street line", "title": "Street", "type": "string"}, "city": {"title": "City", "type": "string"}, "zip": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Zip"}}, "required": ["street", "city"], "title": "Address", "type": "object"}, "Item": {"properties": {"sku": {"title": "Sku", "type": "string"}, "qty": {"default": 1, "description": "Quantity", "minimum": 1, "title": "Qty", "type": "integer"}}, "required": ["sku"], "title": "Item", "type": "object"}}, "properties": {"customer": {"title": "Customer", "type": "string"}, "priority": {"enum": ["low", "normal", "high"], "title": "Priority", "type": "string"}, "items": {"items": {"$ref": "#/$defs/Item"}, "title": "Items", "type": "array"}, "address": {"$ref": "#/$defs/Address"}, "tags": {"default": [], "items": {"type": "string"}, "title": "Tags", "type": "array"}, "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Note"}, "discount": {"default": 0.0, "title": "Discount", "type": "number"}, "gift": {"default": false, "title": "Gift", "type": "boolean"}}, "required": ["customer", "priority", "items", "address"], "title": "create_orderArguments", "type": "object"}}
        """#

    /// FastMCP `echo(text: str) -> str`, with the output schema FastMCP derives from the return type.
    static let echo = #"""
        {"name": "echo", "description": "Echo text back.", "inputSchema": {"properties": {"text": {"title": "Text", "type": "string"}}, "required": ["text"], "title": "echoArguments", "type": "object"}, "outputSchema": {"properties": {"result": {"title": "Result", "type": "string"}}, "required": ["result"], "title": "echoOutput", "type": "object"}}
        """#

    /// FastMCP `explode(message: str = "kaboom")`: only optional parameters.
    static let explode = #"""
        {"name": "explode", "description": "Always raises.", "inputSchema": {"properties": {"message": {"default": "kaboom", "title": "Message", "type": "string"}}, "title": "explodeArguments", "type": "object"}, "outputSchema": {"properties": {"result": {"title": "Result", "type": "string"}}, "required": ["result"], "title": "explodeOutput", "type": "object"}}
        """#

    /// FastMCP `pixel() -> Image`: no parameters.
    static let pixel = #"""
        {"name": "pixel", "description": "Returns a 1x1 PNG image.", "inputSchema": {"properties": {}, "title": "pixelArguments", "type": "object"}}
        """#

    /// Low-level fixture `schema_zoo`: many JSON Schema constructs in one tool.
    static let schemaZoo = #"""
        {"name": "schema_zoo", "description": "Many JSON-schema constructs", "inputSchema": {"type": "object", "properties": {"s": {"type": "string", "description": "plain string", "minLength": 2, "format": "email"}, "color": {"type": "string", "enum": ["red", "green"]}, "const_val": {"const": "fixed"}, "multi": {"type": ["string", "integer"]}, "nullable_int": {"type": ["integer", "null"]}, "any_of": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}}]}, "one_of": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "all_of": {"allOf": [{"type": "object", "properties": {"x": {"type": "integer"}}}]}, "free_obj": {"type": "object"}, "addl_obj": {"type": "object", "additionalProperties": {"type": "integer"}}, "nested": {"type": "object", "properties": {"inner": {"type": "object", "properties": {"leaf": {"type": "boolean"}}, "required": ["leaf"]}, "_meta_key": {"type": "string"}}}, "arr_no_items": {"type": "array"}, "arr_of_arr": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}, "ref_def": {"$ref": "#/$defs/Point"}, "no_type": {"description": "no type at all"}, "with_default": {"type": "integer", "default": 42}, "_private": {"type": "string"}, "private": {"type": "string"}, "nul": {"type": "null"}}, "required": ["s"], "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]}}, "additionalProperties": false}}
        """#

    /// Low-level fixture `echo_args`: `additionalProperties: true` and a nullable type list.
    static let echoArgs = #"""
        {"name": "echo_args", "description": "Echo the raw arguments object received", "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string", "default": "dflt"}, "c": {"type": ["string", "null"]}}, "additionalProperties": true}}
        """#

    static let dashName = #"""
        {"name": "dash-name.v2", "description": "tool name with dash and dot", "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}}}
        """#

    /// Low-level fixture: a zod-style pointer into its own properties, recursive.
    static let recursivePropsRef = #"""
        {"name": "recursive_props_ref", "description": "$ref to #/properties path (circular)", "inputSchema": {"type": "object", "properties": {"data": {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/properties/data"}}}}}}}
        """#

    /// Low-level fixture `structured`: an output schema and no input properties.
    static let structured = #"""
        {"name": "structured", "description": "structuredContent + text", "inputSchema": {"type": "object", "properties": {}}, "outputSchema": {"type": "object", "properties": {"temp": {"type": "number"}, "unit": {"type": "string"}}, "required": ["temp"]}}
        """#

    /// `recursive_server.py`: `$defs` self-recursion that crashed mcpo with RecursionError.
    static let tree = #"""
        {"name": "tree", "description": "recursive $defs", "inputSchema": {"type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}}, "required": ["root"], "$defs": {"Node": {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}}}}
        """#

    /// FastMCP with pydantic `class Node(BaseModel): name: str; children: List["Node"] = []`.
    static let pydanticTree = #"""
        {"name": "walk", "description": "Walk a tree.", "inputSchema": {"$defs": {"Node": {"properties": {"name": {"title": "Name", "type": "string"}, "children": {"default": [], "items": {"$ref": "#/$defs/Node"}, "title": "Children", "type": "array"}}, "required": ["name"], "title": "Node", "type": "object"}}, "properties": {"root": {"$ref": "#/$defs/Node"}}, "required": ["root"], "title": "treeArguments", "type": "object"}, "outputSchema": {"properties": {"result": {"title": "Result", "type": "string"}}, "required": ["result"], "title": "treeOutput", "type": "object"}}
        """#

    /// FastMCP with a pydantic discriminated union (`oneOf` + OpenAPI `discriminator` with `$defs` refs).
    static let area = #"""
        {"name": "area", "description": "Area of a shape.", "inputSchema": {"$defs": {"Circle": {"properties": {"kind": {"const": "circle", "title": "Kind", "type": "string"}, "radius": {"exclusiveMinimum": 0, "title": "Radius", "type": "number"}}, "required": ["kind", "radius"], "title": "Circle", "type": "object"}, "Square": {"properties": {"kind": {"const": "square", "title": "Kind", "type": "string"}, "side": {"exclusiveMinimum": 0, "title": "Side", "type": "number"}}, "required": ["kind", "side"], "title": "Square", "type": "object"}}, "properties": {"shape": {"discriminator": {"mapping": {"circle": "#/$defs/Circle", "square": "#/$defs/Square"}, "propertyName": "kind"}, "oneOf": [{"$ref": "#/$defs/Circle"}, {"$ref": "#/$defs/Square"}], "title": "Shape"}, "scale": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Scale"}}, "required": ["shape"], "title": "areaArguments", "type": "object"}, "outputSchema": {"properties": {"result": {"title": "Result", "type": "number"}}, "required": ["result"], "title": "areaOutput", "type": "object"}}
        """#

    /// zod-to-json-schema output (draft-07, `$refStrategy: "root"`) as the TypeScript SDK publishes it for
    /// ms-365-mcp-server's `send-mail`: a reused zod schema becomes a pointer to its first occurrence.
    static let sendMail = #"""
        {"name": "send-mail", "description": "Send an email as the signed-in user.", "inputSchema": {"type": "object", "properties": {"body": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"Message": {"type": "object", "properties": {"subject": {"type": "string"}, "toRecipients": {"type": "array", "items": {"type": "object", "properties": {"emailAddress": {"type": "object", "properties": {"address": {"type": "string", "format": "email"}, "name": {"type": "string"}}, "additionalProperties": false}}, "additionalProperties": false}}, "ccRecipients": {"type": "array", "items": {"$ref": "#/properties/body/anyOf/1/properties/Message/properties/toRecipients/items"}}, "bccRecipients": {"type": "array", "items": {"$ref": "#/properties/body/anyOf/1/properties/Message/properties/toRecipients/items"}}}, "required": ["subject", "toRecipients"], "additionalProperties": false}, "SaveToSentItems": {"type": "boolean"}}, "required": ["Message"], "additionalProperties": false}], "description": "Request body"}, "includeHeaders": {"type": "boolean", "description": "Include response headers"}}, "required": ["body"], "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#"}}
        """#

    /// A schema recursing through its root (`#`), as hand-written servers do.
    static let rootRecursion = #"""
        {"name": "outline", "description": "Render an outline.", "inputSchema": {"type": "object", "title": "Section", "properties": {"heading": {"type": "string"}, "subsections": {"type": "array", "items": {"$ref": "#"}}}, "required": ["heading"]}}
        """#

    /// draft-07 `definitions`, an escaped pointer (`~1`), percent-encoding, an anchor and draft-04 spellings.
    static let draft07 = #"""
        {"name": "legacy", "inputSchema": {"$schema": "http://json-schema.org/draft-07/schema#", "$id": "https://example.com/legacy.json", "type": "object", "definitions": {"a/b": {"type": "string", "maxLength": 5}, "percent%": {"type": "integer", "exclusiveMinimum": true, "minimum": 0}, "Named": {"$anchor": "named", "type": "boolean"}, "Pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false}}, "properties": {"slashed": {"$ref": "#/definitions/a~1b"}, "percent": {"$ref": "#/definitions/percent%25"}, "anchored": {"$ref": "#named"}, "pair": {"$ref": "#/definitions/Pair"}}}}
        """#

    /// References that must never be fetched, and one whose target does not exist.
    static let remoteRefs = #"""
        {"name": "remote", "inputSchema": {"type": "object", "properties": {"web": {"$ref": "https://example.com/schemas/thing.json"}, "sibling": {"$ref": "other.json#/definitions/X"}, "dangling": {"$ref": "#/$defs/Missing", "description": "points nowhere"}}}}
        """#

    /// Two tools whose `$defs` share a name and whose operationIds collide (`a-b` and `a_b`).
    static let collidingA = #"""
        {"name": "a-b", "inputSchema": {"type": "object", "properties": {"item": {"$ref": "#/$defs/Item"}}, "$defs": {"Item": {"type": "object", "properties": {"sku": {"type": "string"}}}}}}
        """#
    static let collidingB = #"""
        {"name": "a_b", "inputSchema": {"type": "object", "properties": {"item": {"$ref": "#/$defs/Item"}, "again": {"$ref": "#/$defs/Item"}}, "$defs": {"Item": {"type": "object", "properties": {"id": {"type": "integer"}}}}}}
        """#

    /// Nested `$defs` inside a subschema, referenced by a root pointer.
    static let nestedDefs = #"""
        {"name": "nested_defs", "inputSchema": {"type": "object", "properties": {"filter": {"$defs": {"Range": {"type": "object", "properties": {"from": {"type": "integer"}, "to": {"type": "integer"}}}}, "type": "object", "properties": {"range": {"$ref": "#/properties/filter/$defs/Range"}}}}}}
        """#

    /// Every keyword the published schema must keep.
    static let keywordZoo = #"""
        {"name": "keyword_zoo", "inputSchema": {"type": "object", "title": "Zoo", "description": "all the keywords", "x-origin": {"team": "tools"}, "deprecated": false, "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 10, "multipleOf": 2, "default": null, "examples": [2, 4]}, "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, "code": {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3, "format": "iata"}, "mode": {"const": "fast"}, "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": true}, "shape": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "both": {"allOf": [{"type": "string"}, {"minLength": 1}]}, "never": {"not": {"type": "null"}}, "conditional": {"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "integer"}}, "map": {"type": "object", "additionalProperties": {"type": "integer"}, "patternProperties": {"^x-": {"type": "string"}}, "propertyNames": {"maxLength": 8}}, "old": {"type": "string", "deprecated": true, "x-note": "use code"}, "maybe": {"type": ["string", "null"], "default": null, "title": "Maybe"}}, "required": ["count"], "additionalProperties": false}}
        """#

    /// Pydantic's keywords beside a `$ref` (an enum-typed field with a default, a model-typed field with
    /// `Field(description=…)`): what Open WebUI's resolver drops.
    static let siblings = #"""
        {"name": "profile", "inputSchema": {"$defs": {"Color": {"enum": ["red", "green", "blue"], "title": "Color", "type": "string"}, "Pet": {"properties": {"name": {"title": "Name", "type": "string"}}, "required": ["name"], "title": "Pet", "type": "object"}}, "properties": {"favorite_color": {"$ref": "#/$defs/Color", "default": "blue"}, "pet": {"$ref": "#/$defs/Pet", "description": "The user's pet"}, "maybe_pet": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}], "default": null, "description": "Another pet, or none"}}, "required": ["pet"], "title": "profileArguments", "type": "object"}}
        """#

    /// Every tool of the corpus.
    static let all: [String] = [
        createOrder, echo, explode, pixel, schemaZoo, echoArgs, dashName, recursivePropsRef, structured, tree,
        pydanticTree, area, sendMail, rootRecursion, draft07, remoteRefs, collidingA, collidingB, nestedDefs,
        keywordZoo, siblings,
    ]
}
