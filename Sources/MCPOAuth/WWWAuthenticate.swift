/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1), e.g.
/// `Bearer error="invalid_token", scope="files:read", resource_metadata="https://…"`.
public struct AuthChallenge: Sendable, Equatable {
    /// The scheme as written (`Bearer`); compare case-insensitively.
    public var scheme: String
    /// Parameters with lower-cased names; quoted values unescaped.
    public var parameters: [String: String]
    /// A token68 credential instead of parameters (rare for Bearer).
    public var token68: String?

    public init(scheme: String, parameters: [String: String] = [:], token68: String? = nil) {
        self.scheme = scheme
        self.parameters = parameters
        self.token68 = token68
    }

    /// `error` (`invalid_token`, `insufficient_scope`, …).
    public var error: String? { parameters["error"] }
    /// `scope`, the scopes the resource needs (RFC 6750 §3).
    public var scope: String? { parameters["scope"] }
    /// `resource_metadata`, the protected resource metadata URL (RFC 9728 §5.1).
    public var resourceMetadata: String? { parameters["resource_metadata"] }
    public var errorDescription: String? { parameters["error_description"] }

    /// Parses every challenge of one or more `WWW-Authenticate` header values. Malformed parts are skipped.
    public static func parse(_ values: [String]) -> [AuthChallenge] {
        values.flatMap { parse($0) }
    }

    /// Parses every challenge in one header value.
    public static func parse(_ value: String) -> [AuthChallenge] {
        var scanner = ChallengeScanner(Array(value.unicodeScalars))
        return scanner.challenges()
    }

    /// The first `Bearer` challenge among `values`, if any.
    public static func bearer(in values: [String]) -> AuthChallenge? {
        parse(values).first { $0.scheme.lowercased() == "bearer" }
    }
}

private struct ChallengeScanner {
    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    static func isTokenChar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": return true
        default: return false
        }
    }

    static func isToken68Char(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "~", "+", "/": return true
        default: return false
        }
    }

    var atEnd: Bool { index >= scalars.count }
    var current: Unicode.Scalar? { atEnd ? nil : scalars[index] }

    mutating func skipSpaces() {
        while let scalar = current, scalar == " " || scalar == "\t" { index += 1 }
    }

    mutating func skipSpacesAndCommas() {
        while let scalar = current, scalar == " " || scalar == "\t" || scalar == "," { index += 1 }
    }

    mutating func token() -> String? {
        let start = index
        while let scalar = current, Self.isTokenChar(scalar) { index += 1 }
        guard index > start else { return nil }
        return String(String.UnicodeScalarView(scalars[start..<index]))
    }

    mutating func quoted() -> String? {
        guard current == "\"" else { return nil }
        index += 1
        var value = String.UnicodeScalarView()
        while let scalar = current {
            index += 1
            if scalar == "\"" { return String(value) }
            if scalar == "\\", let next = current {
                index += 1
                value.append(next)
            } else {
                value.append(scalar)
            }
        }
        return String(value)  // unterminated: take what there is
    }

    /// Skips to the next comma (error recovery).
    mutating func skipToComma() {
        while let scalar = current, scalar != "," {
            if scalar == "\"" {
                _ = quoted()
            } else {
                index += 1
            }
        }
    }

    mutating func challenges() -> [AuthChallenge] {
        var result: [AuthChallenge] = []
        skipSpacesAndCommas()
        while !atEnd {
            guard let scheme = token() else {
                index += 1
                skipToComma()
                skipSpacesAndCommas()
                continue
            }
            var challenge = AuthChallenge(scheme: scheme)
            skipSpaces()
            // token68: a run of token68 characters followed only by '=' padding, then end or comma.
            let save = index
            if let scalar = current, Self.isToken68Char(scalar) {
                while let next = current, Self.isToken68Char(next) { index += 1 }
                let bodyEnd = index
                while current == "=" { index += 1 }
                let paddingEnd = index
                skipSpaces()
                if (atEnd || current == ",") && (paddingEnd > bodyEnd || !looksLikeParameter(from: save)) {
                    challenge.token68 = String(String.UnicodeScalarView(scalars[save..<paddingEnd]))
                    result.append(challenge)
                    skipSpacesAndCommas()
                    continue
                }
                index = save
            }
            // auth-params until a token that is not followed by '=' (the next challenge's scheme).
            while !atEnd {
                skipSpacesAndCommas()
                let parameterStart = index
                guard let name = token() else { break }
                skipSpaces()
                guard current == "=" else {
                    index = parameterStart  // a new scheme
                    break
                }
                index += 1
                skipSpaces()
                let value = quoted() ?? token() ?? ""
                if challenge.parameters[name.lowercased()] == nil {
                    challenge.parameters[name.lowercased()] = value
                }
                skipSpaces()
                if let scalar = current, scalar != "," {
                    skipToComma()
                }
            }
            result.append(challenge)
            skipSpacesAndCommas()
        }
        return result
    }

    /// Whether a `name=` parameter starts at `position` (then the text is not a token68).
    func looksLikeParameter(from position: Int) -> Bool {
        var cursor = position
        while cursor < scalars.count, Self.isTokenChar(scalars[cursor]) { cursor += 1 }
        while cursor < scalars.count, scalars[cursor] == " " || scalars[cursor] == "\t" { cursor += 1 }
        return cursor < scalars.count && scalars[cursor] == "="
    }
}
