import JSONValue
import Testing

@testable import MCPBridge

func json(_ text: String) throws -> JSON { try JSON.parse(text) }

func tool(_ text: String) throws -> ToolDefinition { try ToolDefinition(json: try json(text)) }

func catalog(_ texts: String...) throws -> ToolCatalog { ToolCatalog(tools: try texts.map(tool)) }

func singleServerDocument(_ catalog: ToolCatalog, apiKeyRequired: Bool = false) -> JSON {
    OpenAPIGenerator.document(
        options: OpenAPIOptions(
            info: OpenAPIInfo(title: "demo", description: "Demo server", version: "1.0"),
            apiKeyRequired: apiKeyRequired
        ),
        sections: [OpenAPISection(catalog: catalog)]
    )
}

/// Every `$ref` in `document` (as `(reference, place)` pairs), walking every value, data included.
func allReferences(in value: JSON, at place: String = "") -> [(String, String)] {
    switch value {
    case .object(let object):
        var found: [(String, String)] = []
        for (key, member) in object {
            if key == "$ref", let text = member.stringValue { found.append((text, place)) }
            found += allReferences(in: member, at: place + "/" + key)
        }
        return found
    case .array(let items):
        return items.enumerated().flatMap { allReferences(in: $0.element, at: place + "/\($0.offset)") }
    default:
        return []
    }
}

/// Asserts that every local `$ref` of the document resolves inside it and returns how many were checked.
@discardableResult
func expectLocalReferencesResolve(_ document: JSON, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
    var checked = 0
    for (reference, place) in allReferences(in: document) where reference.hasPrefix("#") {
        checked += 1
        #expect(
            reference.hasPrefix("#/components/schemas/"), "\(reference) at \(place)", sourceLocation: sourceLocation)
        let segments = JSONPointer.segments(of: String(reference.dropFirst()))
        #expect(
            JSONPointer.value(at: segments, in: document) != nil, "\(reference) at \(place) does not resolve",
            sourceLocation: sourceLocation)
    }
    return checked
}

/// `schema` with local references replaced through `names` (pointer → component), `$defs`/`definitions`/
/// `$schema`/`$id` removed: what a published component must equal.
func expectedComponent(_ schema: JSON, names: [String: String]) -> JSON {
    switch schema {
    case .object(let object):
        var result: JSON = [:]
        for (key, value) in object {
            if ["$defs", "definitions", "$schema", "$id"].contains(key) { continue }
            if key == "$ref", let text = value.stringValue, let name = names[text] {
                result[key] = .string("#/components/schemas/" + name)
            } else {
                result[key] = expectedComponent(value, names: names)
            }
        }
        return result
    case .array(let items):
        return .array(items.map { expectedComponent($0, names: names) })
    default:
        return schema
    }
}

extension JSON {
    /// Follows a path of object keys; nil when any step is missing.
    func at(_ path: String...) -> JSON? {
        var current: JSON? = self
        for key in path { current = current?[key] }
        return current
    }
}
