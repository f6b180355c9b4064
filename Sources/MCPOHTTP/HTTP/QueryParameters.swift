import Foundation

/// A request's query (`a=1&b=two%20words`) as names and values, percent-decoded and `+` read as a space; the first
/// of a repeated name wins.
enum QueryParameters {
    static func parse(_ query: String?) -> [(name: String, value: String)] {
        var parameters: [(name: String, value: String)] = []
        var seen: Set<String> = []
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            guard seen.insert(name).inserted else { continue }
            parameters.append((name, parts.count > 1 ? decode(parts[1]) : ""))
        }
        return parameters
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
