import JSONValue

/// A `$ref` value, classified by where it points.
enum SchemaReference: Equatable {
    /// `#/a/b~1c`: a JSON pointer into the same schema, already unescaped into its segments
    /// (`#` alone is the empty pointer, the root).
    case pointer([String])
    /// `#name`: a `$anchor` (or draft-07 `"$id": "#name"`) somewhere in the same schema.
    case anchor(String)
    /// Anything else (`http://…`, `other.json#/x`, `urn:…`): another document, never fetched.
    case external(String)

    init(_ text: String) {
        guard text.first == "#" else {
            self = .external(text)
            return
        }
        let fragment = Self.percentDecoded(String(text.dropFirst()))
        if fragment.isEmpty {
            self = .pointer([])
        } else if fragment.first == "/" {
            self = .pointer(JSONPointer.segments(of: fragment))
        } else {
            self = .anchor(fragment)
        }
    }

    /// A URI fragment may percent-encode characters (`%25` for `%`, `%22` for `"`); malformed escapes stay as written.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// RFC 6901 JSON pointers over `JSON` values.
enum JSONPointer {
    /// `/a~1b/c~0d` → `["a/b", "c~d"]`. The leading `/` is required; `~1` is undone before `~0`.
    static func segments(of pointer: String) -> [String] {
        pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(unescaped)
    }

    /// `~1` → `/`, then `~0` → `~` (so `~01` is `~1`), in one pass.
    private static func unescaped(_ segment: Substring) -> String {
        guard segment.utf8.contains(UInt8(ascii: "~")) else { return String(segment) }
        var result = ""
        var characters = segment.makeIterator()
        while let character = characters.next() {
            guard character == "~" else {
                result.append(character)
                continue
            }
            switch characters.next() {
            case "1": result.append("/")
            case "0": result.append("~")
            case let other?: result += "~" + String(other)
            case nil: result.append("~")
            }
        }
        return result
    }

    static func value(at segments: [String], in root: JSON) -> JSON? {
        var current = root
        for segment in segments {
            switch current {
            case .object(let object):
                guard let next = object[segment] else { return nil }
                current = next
            case .array(let array):
                // RFC 6901 forbids leading zeros and signs in array indices.
                guard let index = Int(segment), index >= 0, index < array.count,
                    String(index) == segment
                else { return nil }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }
}

/// Resolves the local `$ref`s of one schema document (a tool's input or output schema).
struct LocalReferenceResolver {
    let root: JSON
    private let anchors: [String: [String]]

    init(root: JSON) {
        self.root = root
        var anchors: [String: [String]] = [:]
        SchemaTree.visit(root) { schema, path in
            guard let object = schema.objectValue else { return }
            if let anchor = object["$anchor"]?.stringValue, anchors[anchor] == nil {
                anchors[anchor] = path
            }
            if let id = object["$id"]?.stringValue, id.first == "#", id.count > 1 {
                let name = String(id.dropFirst())
                if anchors[name] == nil { anchors[name] = path }
            }
        }
        self.anchors = anchors
    }

    /// Where a local reference lands, as pointer segments from the root; nil for an external reference
    /// or a target that does not exist or is not a schema (an object or a boolean).
    func targetPath(of reference: SchemaReference) -> [String]? {
        let path: [String]
        switch reference {
        case .pointer(let segments): path = segments
        case .anchor(let name):
            guard let found = anchors[name] else { return nil }
            path = found
        case .external: return nil
        }
        switch JSONPointer.value(at: path, in: root) {
        case .object?, .bool?: return path
        default: return nil
        }
    }

    func schema(at path: [String]) -> JSON? { JSONPointer.value(at: path, in: root) }
}
