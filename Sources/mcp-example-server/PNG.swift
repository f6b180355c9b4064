/// A minimal PNG encoder: 8-bit RGB, no filtering, zlib with stored (uncompressed) deflate blocks.
/// Plenty for small swatches, and every byte is produced here.
enum PNG {
    /// A `width`×`height` image filled with one color.
    static func solid(red: UInt8, green: UInt8, blue: UInt8, width: Int, height: Int) -> [UInt8] {
        var row: [UInt8] = [0]  // filter type 0 (None)
        row.reserveCapacity(1 + 3 * width)
        for _ in 0..<width { row.append(contentsOf: [red, green, blue]) }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(row.count * height)
        for _ in 0..<height { pixels.append(contentsOf: row) }
        return encodeRGB(width: width, height: height, filteredRows: pixels)
    }

    /// Encodes rows that already carry their filter byte.
    static func encodeRGB(width: Int, height: Int, filteredRows: [UInt8]) -> [UInt8] {
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        // bit depth 8, color type 2 (RGB), compression 0, filter 0, interlace 0
        header.append(contentsOf: [8, 2, 0, 0, 0])

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png.append(contentsOf: chunk("IHDR", header))
        png.append(contentsOf: chunk("IDAT", zlibStored(filteredRows)))
        png.append(contentsOf: chunk("IEND", []))
        return png
    }

    /// length, type, data, CRC-32 of type and data.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(12 + data.count)
        out.appendBigEndian(UInt32(data.count))
        out.append(contentsOf: typeBytes)
        out.append(contentsOf: data)
        out.appendBigEndian(crc32(typeBytes + data))
        return out
    }

    /// A zlib stream (RFC 1950) holding `data` in stored deflate blocks (RFC 1951 §3.2.4).
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // deflate, 32K window, no preset dictionary, fastest
        let blockSize = 65_535
        var start = 0
        repeat {
            let end = min(start + blockSize, data.count)
            let length = UInt16(end - start)
            out.append(end == data.count ? 1 : 0)  // BFINAL, BTYPE 00
            out.append(UInt8(length & 0xFF))
            out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xFF))
            out.append(UInt8(~length >> 8))
            out.append(contentsOf: data[start..<end])
            start = end
        } while start < data.count
        out.appendBigEndian(adler32(data))
        return out
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return ~crc
    }

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1
        }
        return value
    }
}

extension [UInt8] {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
        ])
    }
}
