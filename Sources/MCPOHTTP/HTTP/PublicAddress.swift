/// How callers reach the proxy, for links to its own routes (OAuth callbacks, sign-in links).
struct PublicAddress: Sendable {
    /// `--root-path`: the prefix a reverse proxy adds in front.
    let rootPath: String
    /// `https` when the proxy serves TLS.
    let defaultScheme: String

    /// `<scheme>://<host><root path>` as the caller reached the proxy (`X-Forwarded-Proto`/`-Host` first).
    func base(of request: ProxyRequest) -> String {
        func first(_ name: String) -> String? {
            guard let value = request.header(name) else { return nil }
            let part = value.split(separator: ",").first.map(Self.trimmed)
            return part?.isEmpty == false ? part : nil
        }
        let scheme = first("X-Forwarded-Proto").map { $0.lowercased() == "https" ? "https" : "http" } ?? defaultScheme
        let host = first("X-Forwarded-Host") ?? request.header("host") ?? "localhost"
        return "\(scheme)://\(host)\(rootPath)"
    }

    private static func trimmed(_ text: Substring) -> String {
        var text = text
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
