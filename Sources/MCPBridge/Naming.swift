/// The spellings mcpo (FastAPI) derives from a tool name, reproduced so Open WebUI sees the same function names.
enum Naming {
    /// Python's `str.title()`: a cased letter is uppercased when the character before it is not cased
    /// (start, digit, `-`, `.`, space), lowercased otherwise. `dash-name.v2` → `Dash-Name.V2`.
    static func pythonTitle(_ text: String) -> String {
        var result = ""
        var previousIsCased = false
        for character in text {
            if character.isCased {
                result += previousIsCased ? character.lowercased() : character.uppercased()
                previousIsCased = true
            } else {
                result.append(character)
                previousIsCased = false
            }
        }
        return result
    }

    /// The operation summary mcpo shows: `create_order` → `Create Order`.
    static func summary(forTool name: String) -> String {
        pythonTitle(name.replacing("_", with: " "))
    }

    /// FastAPI's default operationId for `POST /<name>` of the route function `tool`:
    /// `tool_<name>_post` with every character that is not an ASCII word character turned into `_`.
    ///
    /// Python's `\W` would keep non-ASCII letters, but OpenAI-style function names (which Open WebUI
    /// builds from the operationId) only allow `[A-Za-z0-9_-]`, so ASCII is the safer reading.
    static func operationIdBase(forTool name: String, prefix: String = "") -> String {
        "tool_" + asciiWord(prefix + name) + "_post"
    }

    /// FastAPI's response schema title: `Response_<operationId>` title-cased with `_` as spaces.
    static func responseTitle(operationId: String) -> String {
        pythonTitle(("Response_" + operationId).replacing("_", with: " "))
    }

    /// Every character outside `[A-Za-z0-9_]` becomes `_`.
    static func asciiWord(_ text: String) -> String {
        String(text.unicodeScalars.map { isASCIIWord($0) ? Character($0) : "_" })
    }

    /// OpenAPI component keys must match `^[a-zA-Z0-9.\-_]+$`; anything else becomes `_`.
    static func componentKey(_ text: String) -> String {
        let cleaned = String(
            text.unicodeScalars.map { isASCIIWord($0) || $0 == "." || $0 == "-" ? Character($0) : "_" })
        return cleaned.isEmpty ? "_" : cleaned
    }

    private static func isASCIIWord(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_": true
        default: false
        }
    }
}

/// Hands out names that are unique within one scope, adding `_2`, `_3` … to repeats, in call order,
/// so the same input always yields the same names.
struct UniqueNames {
    private var taken: Set<String> = []

    init(reserved: [String] = []) { taken = Set(reserved) }

    func isTaken(_ name: String) -> Bool { taken.contains(name) }

    mutating func claim(_ preferred: String) -> String {
        var candidate = preferred
        var counter = 2
        while taken.contains(candidate) {
            candidate = "\(preferred)_\(counter)"
            counter += 1
        }
        taken.insert(candidate)
        return candidate
    }
}
