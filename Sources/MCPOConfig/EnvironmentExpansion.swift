/// Expands `${NAME}` and `${NAME:-default}` in config strings, as a shell (and docker compose) would.
///
/// - `${NAME}` is the variable's value; an unset variable is an error (an empty one expands to nothing).
/// - `${NAME:-default}` is the default when the variable is unset or empty; the default may itself
///   contain references, expanded only when it is used.
/// - `$$` is a literal `$`. A `$` followed by anything else is kept as is, so `$HOME` is not expanded.
struct EnvironmentExpander {
    enum Failure: Error, Equatable {
        case undefined(name: String)
        case unterminated
        case invalidReference(String)

        var message: String {
            switch self {
            case .undefined(let name):
                "environment variable '\(name)' is not set (write ${\(name):-default} to give a default)"
            case .unterminated:
                "unterminated '${' (write '$$' for a literal '$')"
            case .invalidReference(let text):
                "invalid variable reference '\(text)'; expected ${NAME} or ${NAME:-default} "
                    + "(write '$$' for a literal '$')"
            }
        }
    }

    let environment: [String: String]

    func expand(_ text: String) throws(Failure) -> String {
        guard text.utf8.contains(Byte.dollar) else { return text }
        let bytes = Array(text.utf8)
        var index = 0
        let expanded = try expand(bytes, at: &index, untilBrace: false, evaluating: true)
        return String(decoding: expanded, as: UTF8.self)
    }

    private enum Byte {
        static let dollar = UInt8(ascii: "$")
        static let openBrace = UInt8(ascii: "{")
        static let closeBrace = UInt8(ascii: "}")
        static let colon = UInt8(ascii: ":")
        static let minus = UInt8(ascii: "-")
    }

    /// Expands from `index` to the end, or (`untilBrace`) to the `}` closing a default, which it consumes.
    /// When not `evaluating` (an unused default), references are only checked for syntax.
    private func expand(_ bytes: [UInt8], at index: inout Int, untilBrace: Bool, evaluating: Bool)
        throws(Failure) -> [UInt8]
    {
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if untilBrace && byte == Byte.closeBrace {
                index += 1
                return out
            }
            if byte == Byte.dollar, index + 1 < bytes.count {
                if bytes[index + 1] == Byte.dollar {
                    out.append(Byte.dollar)
                    index += 2
                    continue
                }
                if bytes[index + 1] == Byte.openBrace {
                    out.append(contentsOf: try reference(bytes, at: &index, evaluating: evaluating))
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        if untilBrace { throw .unterminated }
        return out
    }

    /// One `${…}` starting at `index` (the `$`).
    private func reference(_ bytes: [UInt8], at index: inout Int, evaluating: Bool) throws(Failure) -> [UInt8] {
        let start = index
        index += 2
        let nameStart = index
        while index < bytes.count, Self.isNameByte(bytes[index], first: index == nameStart) { index += 1 }
        let name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
        guard index < bytes.count else { throw .unterminated }
        func invalid() -> Failure {
            let end = bytes[index...].firstIndex(of: Byte.closeBrace).map { $0 + 1 } ?? bytes.count
            return .invalidReference(String(decoding: bytes[start..<end], as: UTF8.self))
        }
        guard !name.isEmpty else { throw invalid() }
        if bytes[index] == Byte.closeBrace {
            index += 1
            guard evaluating else { return [] }
            guard let value = environment[name] else { throw .undefined(name: name) }
            return Array(value.utf8)
        }
        guard bytes[index] == Byte.colon, index + 1 < bytes.count, bytes[index + 1] == Byte.minus else {
            throw invalid()
        }
        index += 2
        let value = evaluating ? environment[name] : nil
        let useDefault = evaluating && (value ?? "").isEmpty
        let fallback = try expand(bytes, at: &index, untilBrace: true, evaluating: useDefault)
        guard evaluating else { return [] }
        return useDefault ? fallback : Array((value ?? "").utf8)
    }

    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"): true
        case UInt8(ascii: "0")...UInt8(ascii: "9"): !first
        default: false
        }
    }
}
