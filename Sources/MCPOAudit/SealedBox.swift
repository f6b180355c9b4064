import Crypto
import MCPOConfig

/// Secrets sealed with the store key (AES-256-GCM, a fresh nonce each time) and bound to where they are kept: the
/// associated data names the row, so a sealed value copied into another row does not open.
struct SecretSealer: Sendable {
    private let key: SymmetricKey

    init(_ key: StoreKey) {
        self.key = SymmetricKey(data: key.bytes)
    }

    func seal(_ plaintext: [UInt8], for place: String) throws(AuditError) -> [UInt8] {
        do {
            guard let combined = try AES.GCM.seal(plaintext, using: key, authenticating: Array(place.utf8)).combined
            else { throw AuditError.store("cannot seal a secret") }
            return Array(combined)
        } catch {
            throw .store("cannot seal a secret: \(error)")
        }
    }

    /// The plaintext; a value sealed with another key, for another place, or altered does not open.
    func open(_ sealed: [UInt8], for place: String) throws(AuditError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(place.utf8)))
        } catch {
            throw .store("a secret in the store does not open with this store key (another MCPO_STORE_KEY?)")
        }
    }
}
