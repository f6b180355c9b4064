import JSONValue

/// The component schemas of a document and which of them reach themselves through references (those can never be
/// inlined whole).
struct ComponentGraph {
    static let prefix = "#/components/schemas/"

    let schemas: OrderedJSONObject
    let recursive: Set<String>

    init(document: JSON) {
        let schemas = document["components"]?["schemas"]?.objectValue ?? [:]
        self.schemas = schemas
        var edges: [String: Set<String>] = [:]
        for (name, schema) in schemas { edges[name] = Self.references(in: schema) }
        var recursive: Set<String> = []
        for name in schemas.keys {
            // Depth-first from each component: does any path come back to it?
            var stack = Array(edges[name] ?? [])
            var seen: Set<String> = []
            while let next = stack.popLast() {
                if next == name {
                    recursive.insert(name)
                    break
                }
                guard seen.insert(next).inserted else { continue }
                stack += edges[next] ?? []
            }
        }
        self.recursive = recursive
    }

    /// The component a `$ref` names, when it is one of this document's.
    static func component(of reference: JSON?) -> String? {
        guard let text = reference?.stringValue, text.hasPrefix(prefix) else { return nil }
        return String(text.dropFirst(prefix.count))
    }

    static func references(in schema: JSON) -> Set<String> {
        var found: Set<String> = []
        func walk(_ node: JSON) {
            switch node {
            case .object(let object):
                if let name = component(of: object["$ref"]) { found.insert(name) }
                for (_, value) in object { walk(value) }
            case .array(let items):
                for item in items { walk(item) }
            default:
                break
            }
        }
        walk(schema)
        return found
    }
}

/// Open WebUI's resolver (in its backend and its browser code) replaces a `$ref` node with its target, dropping the
/// keywords beside it (`{"$ref": "#/…/Color", "default": "blue"}` loses its default). A node with keywords beside
/// a reference to a component that does not reach itself becomes the component's schema with those keywords merged
/// in (theirs win; never `allOf`, which Open WebUI's cleaner turns into a string). References alone stay references.
public enum ReferenceSiblings {
    public static func merge(_ document: JSON) -> JSON {
        let graph = ComponentGraph(document: document)
        guard !graph.schemas.isEmpty else { return document }
        return merged(document, graph: graph)
    }

    static func merged(_ node: JSON, graph: ComponentGraph) -> JSON {
        switch node {
        case .object(var object):
            if object.count > 1, let name = ComponentGraph.component(of: object["$ref"]),
                !graph.recursive.contains(name), case .object(let target)? = graph.schemas[name]
            {
                object["$ref"] = nil
                var inlined = target
                for (key, value) in object { inlined[key] = value }
                return merged(.object(inlined), graph: graph)
            }
            for (key, value) in object { object[key] = merged(value, graph: graph) }
            return .object(object)
        case .array(let items):
            return .array(items.map { merged($0, graph: graph) })
        default:
            return node
        }
    }
}

/// The OpenAPI 3.0.3 rendering of a 3.1 document, for consumers that read 3.0 only or resolve `$ref` only at the top
/// of a body (Dify, LibreChat, LangChain): every reference in a body, a parameter or a response is inlined (a
/// recursive component stays a reference: it cannot be written out whole), and each schema is said the 3.0 way
/// (one `type` with `nullable`, `const` as a one-value `enum`, `example` for `examples`, boolean exclusive bounds);
/// keywords 3.0 does not have are left out.
public enum OpenAPI30Renderer {
    public static func render(_ document: JSON) -> JSON {
        let graph = ComponentGraph(document: document)
        var out = document
        out["openapi"] = "3.0.3"
        out["jsonSchemaDialect"] = nil
        if case .object(var paths)? = document["paths"] {
            for (path, item) in paths { paths[path] = inlined(item, graph: graph, inSchema: false) }
            out["paths"] = .object(paths)
        }
        if case .object(var components)? = document["components"] {
            // Only the components a body still names: the recursive ones and what they use.
            var kept = OrderedJSONObject()
            var pending = Array(graph.recursive)
            while let name = pending.popLast() {
                guard kept[name] == nil, let schema = graph.schemas[name] else { continue }
                let rendered = converted(schema, graph: graph)
                kept[name] = rendered
                pending += ComponentGraph.references(in: rendered)
            }
            var ordered = OrderedJSONObject()
            for name in graph.schemas.keys where kept[name] != nil { ordered[name] = kept[name] }
            components["schemas"] = .object(ordered)
            out["components"] = .object(components)
        }
        return out
    }

    /// Walks the document outside schemas: every `schema` found (of a body, a response, a parameter) is converted.
    static func inlined(_ node: JSON, graph: ComponentGraph, inSchema: Bool) -> JSON {
        if inSchema { return converted(node, graph: graph) }
        switch node {
        case .object(var object):
            for (key, value) in object {
                object[key] = inlined(value, graph: graph, inSchema: key == "schema")
            }
            return .object(object)
        case .array(let items):
            return .array(items.map { inlined($0, graph: graph, inSchema: false) })
        default:
            return node
        }
    }

    static let subschema: Set<String> = [
        "items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
        "unevaluatedProperties", "unevaluatedItems", "contentSchema",
    ]
    static let subschemaLists: Set<String> = ["anyOf", "oneOf", "allOf", "prefixItems"]
    static let subschemaMaps: Set<String> = [
        "properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
    ]

    /// One schema: a reference to a component that does not reach itself replaced by the component (keywords beside
    /// it merged in, theirs winning), its subschemas converted, then itself said the 3.0 way. Values (`default`,
    /// `enum`, `example` …) are kept as they are.
    static func converted(_ node: JSON, graph: ComponentGraph) -> JSON {
        guard case .object(var schema) = node else { return node }
        if let name = ComponentGraph.component(of: schema["$ref"]), !graph.recursive.contains(name),
            case .object(let target)? = graph.schemas[name]
        {
            schema["$ref"] = nil
            var merged = target
            for (key, value) in schema { merged[key] = value }
            return converted(.object(merged), graph: graph)
        }
        for (key, value) in schema {
            if subschema.contains(key) {
                schema[key] = converted(value, graph: graph)
            } else if subschemaLists.contains(key), case .array(let items) = value {
                schema[key] = .array(items.map { converted($0, graph: graph) })
            } else if subschemaMaps.contains(key), case .object(var map) = value {
                for (name, member) in map { map[name] = converted(member, graph: graph) }
                schema[key] = .object(map)
            }
        }
        return schema30(.object(schema))
    }

    static let dropped: Set<String> = [
        "$schema", "$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$comment", "$defs", "definitions",
        "contentMediaType", "contentEncoding", "contentSchema", "dependentRequired", "dependentSchemas",
        "unevaluatedProperties", "unevaluatedItems", "prefixItems", "propertyNames", "if", "then", "else",
        "minContains", "maxContains", "contains", "patternProperties", "const", "examples",
    ]

    /// One schema object said the 3.0 way (its members are already converted).
    static func schema30(_ node: JSON) -> JSON {
        guard case .object(var schema) = node else { return node }
        if let constant = schema["const"], schema["enum"] == nil { schema["enum"] = [constant] }
        if let examples = schema["examples"]?.arrayValue, let first = examples.first, schema["example"] == nil {
            schema["example"] = first
        }
        for (bound, plain) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            if let value = schema[bound], value.numberValue != nil {
                schema[plain] = value
                schema[bound] = true
            }
        }
        if case .array(let types)? = schema["type"] {
            let named = types.filter { $0 != "null" }
            if named.count < types.count { schema["nullable"] = true }
            switch named.count {
            case 0: schema["type"] = nil
            case 1: schema["type"] = named[0]
            default:
                schema["type"] = nil
                schema["anyOf"] = .array(named.map { ["type": $0] })
            }
        } else if schema["type"] == "null" {
            schema["type"] = nil
            schema["nullable"] = true
        }
        for keyword in ["anyOf", "oneOf"] {
            guard case .array(let branches)? = schema[keyword] else { continue }
            let isNull: (JSON) -> Bool = { branch in
                branch["type"] == nil && branch["nullable"] == true && branch.objectValue?.count == 1
            }
            let kept = branches.filter { !isNull($0) }
            guard kept.count < branches.count else { continue }
            schema["nullable"] = true
            if kept.count == 1, case .object(let only) = kept[0] {
                // `Optional[X]`: X itself, nullable (its own keywords beside the parent's, the parent's winning).
                schema[keyword] = nil
                for (key, value) in only where schema[key] == nil { schema[key] = value }
            } else {
                schema[keyword] = .array(kept)
            }
        }
        if schema["type"] == "array", schema["items"] == nil { schema["items"] = [:] }
        if case .array? = schema["items"] { schema["items"] = [:] }
        for keyword in dropped { schema[keyword] = nil }
        return .object(schema)
    }
}

/// The compact profile (`?profile=compact`) for consumers with limits (GPT Actions): every operation's summary and
/// description at most 300 characters, every description below it (parameters, body properties) at most 700; a
/// longer text is cut and ends with `…`.
public enum CompactProfile {
    public static let operationLimit = 300
    public static let descriptionLimit = 700

    public static func apply(_ document: JSON) -> JSON {
        guard case .object(var paths)? = document["paths"] else { return document }
        for (path, item) in paths {
            guard case .object(var operations) = item else { continue }
            for (method, operation) in operations {
                guard case .object(var fields) = operation else { continue }
                for key in ["summary", "description"] {
                    if let text = fields[key]?.stringValue { fields[key] = .string(cut(text, to: operationLimit)) }
                }
                for (key, value) in fields where key == "parameters" || key == "requestBody" {
                    fields[key] = descriptionsCut(value)
                }
                operations[method] = .object(fields)
            }
            paths[path] = .object(operations)
        }
        var out = document
        out["paths"] = .object(paths)
        if case .object(var components)? = document["components"], let schemas = components["schemas"] {
            components["schemas"] = descriptionsCut(schemas)
            out["components"] = .object(components)
        }
        return out
    }

    static func descriptionsCut(_ node: JSON) -> JSON {
        switch node {
        case .object(var object):
            for (key, value) in object {
                if key == "description", let text = value.stringValue {
                    object[key] = .string(cut(text, to: descriptionLimit))
                } else {
                    object[key] = descriptionsCut(value)
                }
            }
            return .object(object)
        case .array(let items):
            return .array(items.map(descriptionsCut))
        default:
            return node
        }
    }

    static func cut(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }
}
