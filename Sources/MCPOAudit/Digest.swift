import Crypto

/// Hex SHA-256, as audit records and pins write hashes.
public enum Digest {
    public static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        let digest =
            bytes.withContiguousStorageIfAvailable { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(data: Array(bytes))
        return digest.withUnsafeBytes { digest in
            String(unsafeUninitializedCapacity: 64) { text in
                for (index, byte) in digest.enumerated() {
                    text[2 * index] = hexDigit(byte >> 4)
                    text[2 * index + 1] = hexDigit(byte & 0x0F)
                }
                return 64
            }
        }
    }

    /// The lowercase hex digit of `value` (0-15).
    static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
