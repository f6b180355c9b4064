import Crypto
import Foundation

/// RFC 7636 proof key: a verifier from 32 random bytes (43 base64url characters) and its S256 challenge.
public struct PKCE: Sendable, Equatable {
    public let verifier: String

    public init(verifier: String) { self.verifier = verifier }

    /// A fresh verifier from 32 bytes of the system's secure random generator.
    public static func generate() -> PKCE { PKCE(verifier: RandomToken.make(bytes: 32)) }

    /// `BASE64URL(SHA256(ASCII(verifier)))`.
    public var challenge: String { Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) }

    public static let method = "S256"
}

/// Unguessable values (`state`, verifiers, user ids, secrets) from `SystemRandomNumberGenerator`
/// (the kernel's CSPRNG).
public enum RandomToken {
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// `count` random bytes as unpadded base64url.
    public static func make(bytes count: Int) -> String { Base64URL.encode(bytes(count)) }
}

/// Unpadded base64url (RFC 4648 §5), as JWTs and PKCE use it.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes unpadded base64url; nil for anything else (padding, standard base64 `+` `/`, junk).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard
            text.utf8.allSatisfy({ byte in
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                    || byte == 0x2D || byte == 0x5F
            })
        else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = base64.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { base64 += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
