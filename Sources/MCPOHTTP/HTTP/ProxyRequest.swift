import MCPClient
import NIOCore
import NIOHTTP1

/// The client side of one HTTP connection, as the routes see it.
struct ClientConnection: Sendable {
    /// The connection's loop: work done there after the answer does not hold up the caller's next request.
    let eventLoop: any EventLoop
    /// Fires when the client closes its side of the connection: the calls it no longer waits for are cancelled
    /// upstream.
    let clientLeft: CallCancellation
}

/// One request, made once by the connection handler from what it parsed, and read by every route and stage (a
/// reference: the stages pass it on without copying its parts).
final class ProxyRequest: Sendable {
    let method: HTTPMethod
    /// The path of the request target as sent (still percent-encoded), without the query.
    let path: String
    /// What follows `?` in the request target, if anything.
    let query: String?
    let headers: HTTPHeaders
    /// The whole body (bounded by `--max-body-size` before this value is made).
    let body: ByteBuffer
    let connection: ClientConnection

    init(
        method: HTTPMethod, target: String, headers: HTTPHeaders, body: ByteBuffer, connection: ClientConnection
    ) {
        self.method = method
        let origin = Self.originForm(target)
        if let mark = origin.utf8.firstIndex(of: UInt8(ascii: "?")) {
            self.path = String(origin[..<mark])
            self.query = String(origin[origin.utf8.index(after: mark)...])
        } else {
            self.path = origin
            self.query = nil
        }
        self.headers = headers
        self.body = body
        self.connection = connection
    }

    /// The first value of a header (names are matched case-insensitively).
    func header(_ name: String) -> String? {
        headers.first(name: name)
    }

    /// The origin form (`/path?query`) as it is; the absolute form (`http://host/path?query`) without its
    /// scheme and authority; anything else (`*`, an authority) unchanged.
    static func originForm(_ target: String) -> String {
        let bytes = target.utf8
        guard bytes.first != UInt8(ascii: "/"), let schemeEnd = target.firstRange(ofBytes: "://") else { return target }
        let rest = target.utf8[schemeEnd.upperBound...]
        guard let pathStart = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
            return "/"
        }
        let path = String(Substring(target.utf8[pathStart...]))
        return path.utf8.first == UInt8(ascii: "?") ? "/" + path : path
    }
}

extension String {
    /// The first occurrence of an ASCII `needle`, compared byte by byte (no regex library, no Foundation).
    func firstRange(ofBytes needle: StaticString) -> Range<String.Index>? {
        let haystack = utf8
        return needle.withUTF8Buffer { pattern -> Range<String.Index>? in
            var start = haystack.startIndex
            while start != haystack.endIndex {
                var candidate = start
                var matched = 0
                while matched < pattern.count, candidate != haystack.endIndex, haystack[candidate] == pattern[matched] {
                    matched += 1
                    candidate = haystack.index(after: candidate)
                }
                if matched == pattern.count { return start..<candidate }
                start = haystack.index(after: start)
            }
            return nil
        }
    }
}
