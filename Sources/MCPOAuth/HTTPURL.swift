import Foundation

/// An absolute `http` or `https` URL split into its parts, without Foundation's normalisations
/// (OAuth compares identifiers as strings, so the text is kept as written).
///
/// Refuses user information (`user@host`), which has no place in any OAuth endpoint or identifier.
struct HTTPURL: Sendable, Equatable {
    /// Lower-cased scheme, `http` or `https`.
    var scheme: String
    /// Host and optional port as written (`Example.com:8443`, `[::1]:3000`).
    var authority: String
    /// The path as written; empty when the URL has none.
    var path: String
    /// The query without `?`, if any.
    var query: String?
    /// The fragment without `#`, if any.
    var fragment: String?

    init?(_ text: String) {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = text[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        guard !authority.isEmpty, !authority.contains("@"),
            !authority.contains(where: { $0.isWhitespace || $0 == "\\" })
        else { return nil }
        self.scheme = scheme
        self.authority = authority
        self.path = String(rest[slash...])
    }

    /// Host without port or IPv6 brackets, lower-cased.
    var host: String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close]).lowercased()
        }
        if let colon = authority.lastIndex(of: ":") { return String(authority[..<colon]).lowercased() }
        return authority.lowercased()
    }

    /// `scheme://authority` with scheme and host lower-cased.
    var origin: String { "\(scheme)://\(authority.lowercased())" }

    /// Whether the host is a loopback name or address.
    var isLoopback: Bool {
        let host = host
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    var text: String {
        var text = "\(scheme)://\(authority)\(path)"
        if let query { text += "?" + query }
        if let fragment { text += "#" + fragment }
        return text
    }

    /// RFC 8707 canonical form: lower-case scheme and host, no fragment, no lone trailing `/` path
    /// (the MCP authorization spec prefers `https://mcp.example.com` over `https://mcp.example.com/`).
    var canonicalResource: String {
        var text = origin + (path == "/" ? "" : path)
        if let query { text += "?" + query }
        return text
    }

    /// `self` with `extra` appended to the query (form-encoded).
    func appendingQuery(_ extra: [(String, String)]) -> String {
        var copy = self
        let encoded = FormEncoding.encode(extra)
        if let query = copy.query, !query.isEmpty {
            copy.query = query + "&" + encoded
        } else {
            copy.query = encoded
        }
        return copy.text
    }
}

/// `application/x-www-form-urlencoded` as OAuth uses it (bodies and query strings).
enum FormEncoding {
    /// RFC 3986 unreserved characters; everything else is percent-encoded (so `+`, `&`, `=` and space are).
    private static let unreserved: CharacterSet = {
        var set = CharacterSet()
        set.insert(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return set
    }()

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// The pairs of a query string or form body, in order, `+` read as a space. Invalid escapes keep their text.
    static func decode(_ text: String) -> [(String, String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { part in
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ piece: Substring) -> String {
                let spaced = piece.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (unescape(pieces[0]), pieces.count > 1 ? unescape(pieces[1]) : "")
        }
    }
}

/// Comparisons of OAuth identifiers.
enum OAuthIdentifiers {
    /// RFC 8414 §3.3 simple string comparison, tolerating only a root issuer written with and without its
    /// trailing `/` (`https://as.example` and `https://as.example/`), which servers write either way.
    static func issuersMatch(_ first: String, _ second: String) -> Bool {
        if first == second { return true }
        let (shorter, longer) = first.count < second.count ? (first, second) : (second, first)
        guard longer == shorter + "/", let url = HTTPURL(shorter) else { return false }
        return url.path.isEmpty && url.query == nil
    }

    /// RFC 9728 §3.3 / RFC 8707: whether protected resource metadata advertising `advertised` may be used for
    /// the server at `requested`: same origin, and the requested path inside the advertised one.
    static func resourceCovers(advertised: String, requested: String) -> Bool {
        guard let advertisedURL = HTTPURL(advertised), let requestedURL = HTTPURL(requested) else { return false }
        guard advertisedURL.origin == requestedURL.origin else { return false }
        var advertisedPath = advertisedURL.path
        var requestedPath = requestedURL.path
        if !advertisedPath.hasSuffix("/") { advertisedPath += "/" }
        if !requestedPath.hasSuffix("/") { requestedPath += "/" }
        return requestedPath.hasPrefix(advertisedPath)
    }
}
