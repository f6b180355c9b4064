import MCPOAudit

/// Who may pick up what a call left behind (a linked binary, a continuation): the caller's identity and the
/// credential it showed, as a hash (never the credential itself).
enum CallerKey {
    static func of(identity: String, credential: String?) -> String {
        identity + "|" + (credential.map { Digest.sha256Hex(Array($0.utf8)) } ?? "")
    }

    static func of(_ request: ProxyRequest, identity: String) -> String {
        of(identity: identity, credential: request.header("authorization"))
    }

    static func equalInConstantTime(_ lhs: String, _ rhs: String) -> Bool {
        let (a, b) = (Array(lhs.utf8), Array(rhs.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
