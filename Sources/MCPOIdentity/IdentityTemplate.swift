import JSONValue

/// A `forwardHeaders` value filled from the caller's identity: `{{user}}`, `{{tenant}}`, `{{keyName}}`,
/// `{{issuer}}`, `{{claims.<name>}}` (a dotted path into the verified claims).
public enum IdentityTemplate {
    /// The filled value; nil when a placeholder has no value (the header is then not sent) or when the value would
    /// hold a line break (never sent).
    public static func render(_ template: String, for caller: CallerIdentity) -> String? {
        var output = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { return nil }
            let name = String(rest[open.upperBound..<close.lowerBound].trimmingWhitespace)
            guard let value = value(of: name, for: caller), !value.isEmpty else { return nil }
            output += value
            rest = rest[close.upperBound...]
        }
        output += rest
        guard !output.isEmpty, !output.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            return nil
        }
        return output
    }

    private static func value(of name: String, for caller: CallerIdentity) -> String? {
        switch name {
        case "user": return caller.user
        case "tenant": return caller.tenant
        case "keyName": return caller.keyName
        case "issuer": return caller.issuer
        default:
            guard name.hasPrefix("claims."), let claims = caller.claims else { return nil }
            let path = String(name.dropFirst(7))
            if let direct = claims[path] { return IssuerVerifier.text(direct) }
            var value: JSON? = claims
            for part in path.split(separator: ".") { value = value?[String(part)] }
            return IssuerVerifier.text(value)
        }
    }
}
