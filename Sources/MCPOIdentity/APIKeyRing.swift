import Crypto
import MCPOConfig

/// The configured API keys, matched in constant time: the presented key's SHA-256 is compared with every key's
/// (a key given as `sha256` is its digest already), all of them, so the time taken says nothing about which key
/// matched or how much of one did.
public struct APIKeyRing: Sendable {
    private let keys: [(key: NamedAPIKey, digest: [UInt8])]

    public init(_ keys: [NamedAPIKey]) {
        self.keys = keys.map { key in
            switch key.secret {
            case .plain(let text): (key, Array(SHA256.hash(data: Array(text.utf8))))
            case .sha256(let digest): (key, digest)
            }
        }
    }

    public var isEmpty: Bool { keys.isEmpty }

    /// The key `presented` is, if it is one.
    public func match(_ presented: String) -> NamedAPIKey? {
        let digest = Array(SHA256.hash(data: Array(presented.utf8)))
        var found: NamedAPIKey?
        for entry in keys {
            var difference: UInt8 = 0
            for (left, right) in zip(entry.digest, digest) { difference |= left ^ right }
            if difference == 0, entry.digest.count == digest.count, found == nil { found = entry.key }
        }
        return found
    }
}
