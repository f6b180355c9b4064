/// Glob matching for tool names (`*` any run of characters, `?` one character) and granted scopes (`*` only).
public enum Glob {
    /// Whether `text` matches `pattern` whole; `?` is a wildcard only when `singleCharacter` is true.
    public static func matches(_ pattern: String, _ text: String, singleCharacter: Bool = true) -> Bool {
        let pattern = Array(pattern.unicodeScalars)
        let text = Array(text.unicodeScalars)
        var p = 0
        var t = 0
        // The last `*` and the text position it was tried at: backtracking goes there only (linear in practice).
        var star: (pattern: Int, text: Int)?
        while t < text.count {
            if p < pattern.count, pattern[p] == "*" {
                star = (p, t)
                p += 1
            } else if p < pattern.count, pattern[p] == text[t] || (singleCharacter && pattern[p] == "?") {
                p += 1
                t += 1
            } else if let last = star {
                p = last.pattern + 1
                t = last.text + 1
                star = (last.pattern, last.text + 1)
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
