import JSONValue

/// The `components.schemas` of one OpenAPI document, filled in first-use order.
///
/// A tool schema is published whole; only what cannot live inside an OpenAPI 3.1 document changes:
/// - every local `$ref` (`#/$defs/X`, `#/definitions/X`, zod-style `#/properties/a/…`, `#` for the root,
///   `#anchor`, with `~0` `~1` and percent escapes) becomes `#/components/schemas/<name>`, and its target
///   becomes that component. A target referenced many times is one component; recursion simply refers back.
/// - `$defs` / `definitions` are removed (what they held that is referenced now lives in components),
///   as are `$schema`, `$id` and `$anchor`, which would re-scope references inside the OpenAPI document.
/// - draft-04/07 spellings that OpenAPI 3.1 (JSON Schema 2020-12) reads differently are translated:
///   tuple `items: [...]` → `prefixItems` (+ `additionalItems` → `items`); boolean
///   `exclusiveMinimum`/`exclusiveMaximum` → the numeric form.
/// - a local `$ref` whose target does not exist loses its `$ref` (so the document stays valid) and gets
///   `"x-unresolved-ref": "<original>"` instead; the schema then accepts anything the siblings allow.
/// - an external reference (`http://…`, `other.json#…`) is never fetched, and it is not published either:
///   OpenAPI tools (openapi-spec-validator, Swagger UI in the browser) would try to fetch it, fail offline
///   and reject the whole document. It becomes `"x-external-ref": "<original>"`, keeping its siblings.
/// - a `default` its own schema rejects becomes `x-default`, for the same reason.
///
/// Names: the root is `<prefix><tool>_form_model` (or `_response_model`); a `$defs` entry `Item` is
/// `<prefix><tool>_Item` (`<prefix><tool>_response_Item` for output schemas); any other pointer joins its
/// segments without the `properties` / `$defs` / `definitions` keywords (`#/properties/data` →
/// `<prefix><tool>_data`). Clashes get `_2`, `_3` … in the order they are met, so names are stable.
struct SchemaComponents {
    static let referencePrefix = "#/components/schemas/"

    private(set) var schemas: JSON = [:]
    private var names: UniqueNames

    /// `reserved` names are never handed to tool schemas (the stock components).
    init(reserved: [String]) { names = UniqueNames(reserved: reserved) }

    static func reference(to name: String) -> JSON { ["$ref": .string(referencePrefix + name)] }

    /// Adds a fixed component (such as `HTTPValidationError`) the first time it is used.
    mutating func addStock(_ name: String, _ schema: JSON) {
        if schemas[name] == nil { schemas[name] = schema }
    }

    /// Publishes one tool schema as `preferredName` plus one component per local reference target, and
    /// returns the name the root got.
    mutating func addToolSchema(_ original: JSON, preferredName: String, derivedPrefix: String) -> String {
        let root = Self.settingAsideRejectedDefaults(in: original, resolver: LocalReferenceResolver(root: original))
        // Only member names changed above, so every pointer still lands where it did.
        let resolver = LocalReferenceResolver(root: root)
        let rootName = claim(preferredName)
        var componentByTarget: [[String]: String] = [[]: rootName]
        var pending: [([String], String)] = [([], rootName)]
        while !pending.isEmpty {
            let (path, name) = pending.removeFirst()
            // The path was checked when it was queued, so the target exists.
            guard let target = resolver.schema(at: path) else { continue }
            let rewritten = Self.rewrite(target) { reference in
                guard let targetPath = resolver.targetPath(of: reference) else { return nil }
                if let existing = componentByTarget[targetPath] { return existing }
                let newName = claim(derivedPrefix + Self.derivedName(for: targetPath))
                componentByTarget[targetPath] = newName
                pending.append((targetPath, newName))
                return newName
            }
            schemas[name] = rewritten
        }
        return rootName
    }

    /// Renames `default` to `x-default` wherever the schema rejects its own default (`{"type": "integer",
    /// "default": null}` is common): OpenAPI validators check defaults against their schema and would
    /// refuse the whole document over it.
    static func settingAsideRejectedDefaults(in schema: JSON, resolver: LocalReferenceResolver) -> JSON {
        let result = SchemaTree.mapChildren(schema) { child, _ in
            settingAsideRejectedDefaults(in: child, resolver: resolver)
        }
        guard case .object(let object) = result, let value = object["default"] else { return result }
        var evaluator = SchemaEvaluator(resolver: resolver)
        guard !evaluator.evaluate(value, schema, [], lax: false).isValid else { return result }
        var renamed: JSON = [:]
        for (key, member) in object { renamed[key == "default" ? "x-default" : key] = member }
        return renamed
    }

    /// Claims the name and reserves its place in first-use order.
    private mutating func claim(_ preferred: String) -> String {
        let name = names.claim(Naming.componentKey(preferred))
        schemas[name] = .null
        return name
    }

    private static let structuralSegments: Set<String> = ["properties", "$defs", "definitions"]

    static func derivedName(for path: [String]) -> String {
        let meaningful = path.filter { !structuralSegments.contains($0) }
        return meaningful.isEmpty ? "schema" : meaningful.joined(separator: "_")
    }

    /// The schema as it is published: see the type's documentation. `componentName` answers the component
    /// a local reference now points to, or nil when its target does not exist.
    static func rewrite(_ schema: JSON, componentName: (SchemaReference) -> String?) -> JSON {
        guard case .object(let object) = schema else { return schema }
        var result: JSON = [:]
        let tupleItems = object["items"]?.arrayValue != nil && object["prefixItems"] == nil
        for (key, value) in object {
            switch key {
            case "$schema", "$id", "$anchor":
                continue
            case "$defs" where value.objectValue != nil, "definitions" where value.objectValue != nil:
                continue
            case "$ref":
                guard let text = value.stringValue else {
                    result[key] = value
                    continue
                }
                let reference = SchemaReference(text)
                if case .external = reference {
                    result["x-external-ref"] = value
                } else if let name = componentName(reference) {
                    result[key] = .string(referencePrefix + name)
                } else {
                    result["x-unresolved-ref"] = value
                }
            case "discriminator":
                result[key] = rewriteDiscriminator(value, componentName)
            case "items" where tupleItems:
                result["prefixItems"] = mapped(key, value, componentName)
            case "additionalItems" where tupleItems:
                result["items"] = mapped(key, value, componentName)
            case "exclusiveMinimum", "exclusiveMaximum":
                guard case .bool(let exclusive) = value else {
                    result[key] = value
                    continue
                }
                let bound = key == "exclusiveMinimum" ? "minimum" : "maximum"
                if exclusive, let limit = object[bound], limit.numberValue != nil {
                    result[key] = limit
                    result[bound] = nil
                }
            case "minimum", "maximum":
                let flag = key == "minimum" ? "exclusiveMinimum" : "exclusiveMaximum"
                // Folded into the exclusive keyword above when that one is the draft-04 boolean `true`.
                if object[flag]?.boolValue == true, result[flag] != nil { continue }
                result[key] = value
            default:
                result[key] = mapped(key, value, componentName)
            }
        }
        return result
    }

    /// pydantic writes OpenAPI's `discriminator.mapping` with `#/$defs/…` references; they must follow
    /// their targets into components. A value that is a plain schema name or does not resolve stays.
    private static func rewriteDiscriminator(_ value: JSON, _ componentName: (SchemaReference) -> String?) -> JSON {
        guard var mapping = value["mapping"]?.objectValue else { return value }
        for (tag, target) in mapping {
            guard let text = target.stringValue, text.first == "#", let name = componentName(SchemaReference(text))
            else {
                continue
            }
            mapping[tag] = .string(referencePrefix + name)
        }
        var result = value
        result["mapping"] = .object(mapping)
        return result
    }

    private static func mapped(_ key: String, _ value: JSON, _ componentName: (SchemaReference) -> String?) -> JSON {
        SchemaTree.mapKeyword(key, value) { child, _ in rewrite(child, componentName: componentName) } ?? value
    }
}
