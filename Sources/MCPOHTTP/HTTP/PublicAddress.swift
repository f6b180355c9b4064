/// How callers reach the proxy, for links to its own routes (OAuth callbacks, sign-in links).
struct PublicAddress: Sendable {
    /// `--root-path`: the prefix a reverse proxy adds in front.
    let rootPath: String
    /// `https` when the proxy serves TLS.
    let defaultScheme: String

    /// `<scheme>://<host><root path>` as the caller reached the proxy (`X-Forwarded-Proto`/`-Host` first).
    func base(of request: ProxyRequest) -> String {
        let (scheme, host) = schemeAndHost(of: request)
        return "\(scheme)://\(host)\(rootPath)"
    }

    /// `<scheme>://<host>` as the caller reached the proxy, for documents' `servers`; nil when the host named is no
    /// plain host name or address (a document never carries what a caller wrote that is not one).
    func origin(of request: ProxyRequest) -> String? {
        let (scheme, host) = schemeAndHost(of: request)
        let plain =
            !host.isEmpty && host.utf8.count <= 255
            && host.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"),
                    UInt8(ascii: "["), UInt8(ascii: "]"):
                    true
                default: false
                }
            }
        return plain ? "\(scheme)://\(host)" : nil
    }

    private func schemeAndHost(of request: ProxyRequest) -> (scheme: String, host: String) {
        func first(_ name: String) -> String? {
            guard let value = request.header(name) else { return nil }
            let part = value.split(separator: ",").first.map(Self.trimmed)
            return part?.isEmpty == false ? part : nil
        }
        let scheme = first("X-Forwarded-Proto").map { $0.lowercased() == "https" ? "https" : "http" } ?? defaultScheme
        return (scheme, first("X-Forwarded-Host") ?? request.header("host") ?? "localhost")
    }

    private static func trimmed(_ text: Substring) -> String {
        var text = text
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
