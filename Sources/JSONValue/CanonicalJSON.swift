extension JSON {
    /// Canonical JSON text, for hashing: object keys sorted by code point, no insignificant white space, strings and
    /// numbers as they came (`JSON.bytes` otherwise). The same value always gives the same bytes.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        writeCanonical(into: &out)
        return out
    }

    private func writeCanonical(into out: inout [UInt8]) {
        switch self {
        case .array(let array):
            out.append(UInt8(ascii: "["))
            for (position, element) in array.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                element.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            // Most objects come sorted already (or hold one key): no sorted copy then.
            let ordered = object.keys.indices.dropFirst().allSatisfy {
                Self.precedes(object.keys[object.keys.index(before: $0)], object.keys[$0])
            }
            let keys = ordered ? Array(object.keys) : object.keys.sorted(by: Self.precedes)
            for (position, key) in keys.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                object[key]?.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        default:
            write(into: &out)
        }
    }

    /// Code point order (UTF-8 byte order is the same).
    private static func precedes(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }
}
