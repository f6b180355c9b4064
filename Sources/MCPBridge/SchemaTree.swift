import JSONValue

/// Which JSON Schema keywords hold subschemas, so walks touch schemas only and never rewrite data such as
/// `default`, `const`, `enum` or `examples` that happens to contain a `$ref` key.
enum SchemaTree {
    /// Keywords whose value is one schema (draft 2020-12 and draft-07).
    static let singleSchemaKeywords: Set<String> = [
        "additionalProperties", "unevaluatedProperties", "additionalItems", "unevaluatedItems", "contains",
        "propertyNames", "not", "if", "then", "else", "contentSchema",
    ]
    /// Keywords whose value is an array of schemas.
    static let schemaListKeywords: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    /// Keywords whose value maps names to schemas.
    static let schemaMapKeywords: Set<String> = [
        "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies",
    ]

    static func isSchema(_ value: JSON) -> Bool {
        switch value {
        case .object, .bool: true
        default: false
        }
    }

    /// Calls `transform` on every direct subschema of `schema` (with the pointer segments leading to it
    /// from `schema`) and returns `schema` with the results in place. Non-schema members stay untouched.
    static func mapChildren(_ schema: JSON, _ transform: (JSON, [String]) -> JSON) -> JSON {
        guard case .object(var object) = schema else { return schema }
        for (key, value) in object {
            if let mapped = mapKeyword(key, value, transform) { object[key] = mapped }
        }
        return .object(object)
    }

    /// The keyword's value with its subschemas transformed, or nil when the keyword holds no schema.
    static func mapKeyword(_ key: String, _ value: JSON, _ transform: (JSON, [String]) -> JSON) -> JSON? {
        if key == "items" {
            switch value {
            case .array(let list):
                // draft-07 tuple form.
                return .array(list.enumerated().map { transform($0.element, [key, String($0.offset)]) })
            case .object, .bool:
                return transform(value, [key])
            default:
                return nil
            }
        }
        if singleSchemaKeywords.contains(key) {
            // Not `cond ? … : nil`: that would infer JSON and turn nil into a JSON null.
            guard isSchema(value) else { return Optional.none }
            return transform(value, [key])
        }
        if schemaListKeywords.contains(key), case .array(let list) = value {
            return .array(
                list.enumerated().map {
                    isSchema($0.element) ? transform($0.element, [key, String($0.offset)]) : $0.element
                })
        }
        if schemaMapKeywords.contains(key), case .object(var members) = value {
            for (name, member) in members where isSchema(member) {
                // `dependencies` mixes schemas with arrays of property names; only the schemas are walked.
                members[name] = transform(member, [key, name])
            }
            return .object(members)
        }
        return nil
    }

    /// Visits `schema` and every subschema below it, depth first, with its pointer segments from `schema`.
    static func visit(_ schema: JSON, path: [String] = [], _ body: (JSON, [String]) -> Void) {
        body(schema, path)
        _ = mapChildren(schema) { child, relative in
            visit(child, path: path + relative, body)
            return child
        }
    }
}
