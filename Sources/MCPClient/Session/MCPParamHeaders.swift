import JSONValue

/// Tool parameters mirrored into `Mcp-Param-{Name}` headers over streamable HTTP (2026-07-28,
/// `server/tools.mdx` "x-mcp-header"): the declarations in an input schema, their validation, and the
/// headers for one call.
enum MCPParamHeaders {
    struct Declaration: Sendable, Equatable {
        /// The `{Name}` of `Mcp-Param-{Name}`.
        var header: String
        /// The chain of `properties` keys from the schema root to the parameter.
        var path: [String]
    }

    struct InvalidDeclaration: Error, Sendable, Equatable {
        var reason: String
    }

    /// Keywords whose values are data, never schemas (an `x-mcp-header` key there is just data).
    private static let dataKeywords: Set<String> = ["const", "enum", "default", "examples"]
    /// Keywords whose values map names to schemas.
    private static let schemaMaps: Set<String> = ["$defs", "definitions", "patternProperties", "dependentSchemas"]
    private static let primitiveTypes: Set<String> = ["string", "integer", "boolean"]

    /// The declarations of a tool's input schema, or why they make the tool invalid.
    static func declarations(in schema: JSON?) -> Result<[Declaration], InvalidDeclaration> {
        var found: [Declaration] = []
        var problems: [String] = []
        if let schema { visit(schema: schema, path: [], isStatic: true, found: &found, problems: &problems) }
        var seen: Set<String> = []
        for declaration in found where !seen.insert(declaration.header.lowercased()).inserted {
            problems.append("x-mcp-header '\(declaration.header)' is declared twice")
        }
        if let first = problems.first { return .failure(InvalidDeclaration(reason: first)) }
        return .success(found)
    }

    /// The headers of one call: values at each declared path, omitted when absent or null.
    static func headers(for declarations: [Declaration], arguments: JSON) -> [(name: String, value: String)] {
        declarations.compactMap { declaration in
            var value: JSON? = arguments
            for key in declaration.path { value = value?[key] }
            guard let text = value.flatMap(headerText) else { return nil }
            return (name: "Mcp-Param-\(declaration.header)", value: MCPHeaderValue.encode(text))
        }
    }

    private static func headerText(_ value: JSON) -> String? {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): number.intValue.map(String.init) ?? number.text
        default: nil
        }
    }

    private static func visit(
        schema: JSON, path: [String], isStatic: Bool, found: inout [Declaration], problems: inout [String]
    ) {
        guard case .object(let object) = schema else {
            if case .array(let elements) = schema {
                for element in elements {
                    visit(schema: element, path: path, isStatic: false, found: &found, problems: &problems)
                }
            }
            return
        }
        if let declared = object["x-mcp-header"] {
            if let problem = problem(with: declared, in: object, path: path, isStatic: isStatic) {
                problems.append(problem)
            } else if let header = declared.stringValue {
                found.append(Declaration(header: header, path: path))
            }
        }
        for (keyword, value) in object where keyword != "x-mcp-header" && !dataKeywords.contains(keyword) {
            if keyword == "properties" || schemaMaps.contains(keyword), case .object(let members) = value {
                let staysStatic = isStatic && keyword == "properties"
                for (member, subschema) in members {
                    visit(
                        schema: subschema, path: path + [member], isStatic: staysStatic, found: &found,
                        problems: &problems)
                }
            } else {
                visit(schema: value, path: path, isStatic: false, found: &found, problems: &problems)
            }
        }
    }

    private static func problem(
        with declared: JSON, in schema: OrderedJSONObject, path: [String], isStatic: Bool
    ) -> String? {
        let place = path.isEmpty ? "the schema root" : "'\(path.joined(separator: "."))'"
        guard isStatic, !path.isEmpty else {
            return "x-mcp-header at \(place) is not reachable through properties alone"
        }
        guard let header = declared.stringValue, !header.isEmpty, header.unicodeScalars.allSatisfy(isTokenCharacter)
        else {
            return "x-mcp-header of \(place) is not a valid header name"
        }
        let types: [String]
        switch schema["type"] {
        case .string(let type): types = [type]
        case .array(let list): types = list.compactMap(\.stringValue).filter { $0 != "null" }
        default: types = []
        }
        guard !types.isEmpty, types.allSatisfy(primitiveTypes.contains) else {
            return "x-mcp-header of \(place) is on a parameter that is not a string, integer or boolean"
        }
        return nil
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": true
        default: false
        }
    }
}
