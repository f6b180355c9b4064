import Synchronization

/// Request ids: a random prefix per process and a counter, so ids are unique across replicas without a random draw
/// per request. A caller's `X-Request-Id` is kept when it is a sane token.
final class RequestIDs: Sendable {
    private let prefixBytes: [UInt8]
    private let counter = Atomic<UInt64>(0)

    init() {
        var generator = SystemRandomNumberGenerator()
        prefixBytes = Array(String(generator.next() as UInt64, radix: 16).utf8)
    }

    /// `<prefix>-<count>`, the count in hex, made in one allocation (one per recorded call).
    func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let digits = max(1, (UInt64.bitWidth - value.leadingZeroBitCount + 3) / 4)
        let length = prefixBytes.count + 1 + digits
        return String(unsafeUninitializedCapacity: length) { text in
            for (index, byte) in prefixBytes.enumerated() { text[index] = byte }
            text[prefixBytes.count] = UInt8(ascii: "-")
            var rest = value
            for index in stride(from: length - 1, to: prefixBytes.count, by: -1) {
                text[index] = Self.hexDigits[Int(rest & 0xF)]
                rest >>= 4
            }
            return length
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `[A-Za-z0-9._:-]{1,128}`: what may travel in headers and logs as is.
    static func isSane(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
                    UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
