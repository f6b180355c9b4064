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
        pythonTitle(underscoresAsSpaces(name))
    }

    /// FastAPI's default operationId for `POST /<name>` of the route function `tool`:
    /// `tool_<name>_post` with every character that is not an ASCII word character turned into `_`.
    ///
    /// Python's `\W` would keep non-ASCII letters, but OpenAI-style function names (which Open WebUI
    /// builds from the operationId) only allow `[A-Za-z0-9_-]`, so ASCII is the safer reading.
    static func operationIdBase(forTool name: String, prefix: String = "") -> String {
        "tool_" + asciiWord(prefix + name) + "_post"
    }

    /// Longest function name OpenAI-style chat APIs accept (`^[a-zA-Z0-9_-]{1,64}$`); Open WebUI names each tool
    /// function after its operationId, and one longer name makes the model provider refuse the whole request.
    static let maxOperationIdLength = 64

    /// `id` itself when it is short enough; else its start and 8 hex digits of a hash of the whole, so long
    /// names stay distinct and stable across restarts and reloads.
    static func capped(operationId id: String) -> String {
        guard id.utf8.count > maxOperationIdLength else { return id }
        var hash: UInt32 = 2_166_136_261  // FNV-1a
        for byte in id.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        let suffix = String(repeating: "0", count: 8 - hex.count) + hex
        return String(decoding: id.utf8.prefix(maxOperationIdLength - 9), as: UTF8.self) + "_" + suffix
    }

    /// FastAPI's response schema title: `Response_<operationId>` title-cased with `_` as spaces.
    static func responseTitle(operationId: String) -> String {
        pythonTitle(underscoresAsSpaces("Response_" + operationId))
    }

    /// Not `replacing(_:with:)`: that lives in the regex library, a MiB of code the proxy would map for it.
    static func underscoresAsSpaces(_ text: String) -> String {
        String(text.map { $0 == "_" ? " " : $0 })
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

    /// `preferred`, or `preferred_2`, `preferred_3` …, each passed through `shape` (which must keep distinct
    /// names distinct, as `Naming.capped(operationId:)` does).
    mutating func claim(_ preferred: String, shape: (String) -> String = { $0 }) -> String {
        var candidate = shape(preferred)
        var counter = 2
        while taken.contains(candidate) {
            candidate = shape("\(preferred)_\(counter)")
            counter += 1
        }
        taken.insert(candidate)
        return candidate
    }
}
