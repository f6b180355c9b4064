import Foundation

/// The key that seals OAuth secrets in a shared store (AES-256-GCM): 32 random bytes, written in standard base64 as
/// `openssl rand -base64 32` prints them (`MCPO_STORE_KEY`, or the file `storeKeyFile` names). Never printed.
public struct StoreKey: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// What every wrong key is told.
    public static let expected = "32 random bytes in standard base64, as `openssl rand -base64 32` prints them"

    /// The key `text` holds (surrounding white space ignored); nil for anything but 32 bytes of standard base64.
    public init?(base64 text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed), data.count == 32 else { return nil }
        bytes = Array(data)
    }

    /// The key in the file at `path`; the error says what is wrong without showing the file's content.
    public static func read(path: String) throws(StoreKeyError) -> StoreKey {
        guard let data = FileManager.default.contents(atPath: path) else { throw StoreKeyError("cannot read \(path)") }
        guard let key = StoreKey(base64: String(decoding: data, as: UTF8.self)) else {
            throw StoreKeyError("\(path) does not hold \(expected)")
        }
        return key
    }

    public var description: String { "StoreKey(***)" }
}

public struct StoreKeyError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
