import JSONValue
import JWTKit
import Synchronization

/// One fetched JWKS: the signing keys by `kid`, each able to verify the algorithms that fit it.
final class KeySet: Sendable {
    /// One key of the set, as published (public parameters only are used).
    final class Key: Sendable {
        let id: String?
        let json: JSON
        /// jwt-kit's verifier of this key for each algorithm, made on first use: a key published without `alg` is
        /// bound to the token's algorithm (once it fits), never to the first algorithm a token happened to name.
        private let verifiers = Mutex<[String: JWTKeyCollection]>([:])

        init(json: JSON) {
            self.json = json
            self.id = json["kid"]?.stringValue
        }

        var type: String? { json["kty"]?.stringValue }
        var curve: String? { json["crv"]?.stringValue }
        var declaredAlgorithm: String? { json["alg"]?.stringValue }

        /// Whether `algorithm` may be verified with this key: the key's type and curve fit, and the key names that
        /// algorithm when it names one (RFC 7517 §4.4).
        func fits(_ algorithm: String) -> Bool {
            if let declaredAlgorithm, declaredAlgorithm != algorithm { return false }
            if let use = json["use"]?.stringValue, use != "sig" { return false }
            switch algorithm {
            case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512": return type == "RSA"
            case "ES256": return type == "EC" && curve == "P-256"
            case "ES384": return type == "EC" && curve == "P-384"
            case "EdDSA": return type == "OKP" && curve == "Ed25519"
            default: return false
            }
        }

        /// The verifier of this key for `algorithm` (which must fit it).
        func verifier(for algorithm: String) async throws -> JWTKeyCollection {
            if let made = verifiers.withLock({ $0[algorithm] }) { return made }
            var bound = json
            bound["alg"] = .string(algorithm)
            bound["kid"] = .string(id ?? "mcpo-key")
            let collection = JWTKeyCollection()
            try await collection.add(jwk: JWK(json: bound.text), isDefault: true)
            verifiers.withLock { $0[algorithm] = collection }
            return collection
        }
    }

    let keys: [Key]

    /// The signing keys of a JWKS document (`{"keys": [...]}`); keys of other uses or types are left out.
    init(document: JSON) {
        keys = (document["keys"]?.arrayValue ?? []).filter { $0.objectValue != nil }.map(Key.init(json:))
    }

    var isEmpty: Bool { keys.isEmpty }

    /// Whether a key of this `kid` is in the set (a token without `kid` finds its key by algorithm).
    func contains(keyID: String?) -> Bool {
        guard let keyID else { return true }
        return keys.contains { $0.id == keyID }
    }

    /// The key a token names (`kid`), or, when it names none, the only key that fits its algorithm.
    func key(for keyID: String?, algorithm: String) -> Key? {
        if let keyID { return keys.first { $0.id == keyID } }
        let fitting = keys.filter { $0.fits(algorithm) }
        return fitting.count == 1 ? fitting[0] : nil
    }
}
