import Foundation
import JSONValue
import TestSupport
import Testing

/// Binaries over `inlineBinaryLimit` answered as links to `GET /files/<id>`, for their caller only, until they expire.
@Suite("large binaries")
struct LargeBinaryTests {
    static func expectedBytes(kib: Int) -> [UInt8] { (0..<(kib * 1024)).map { UInt8($0 % 251) } }

    @Test(
        "a large image is a link only its caller reads, until it expires; small ones stay data URLs",
        arguments: PythonLine.allCases)
    func linked(line: PythonLine) async throws {
        let arguments =
            ["--inline-binary-limit", "2048", "--api-key", "first-key", "--api-key", "second-key", "--"]
            + line.fastMCPServer
        try await withProxy(arguments) { proxy in
            let first = [("Authorization", "Bearer first-key")]
            let small = try await TestHTTP.post(proxy, "/pixel", headers: first)
            #expect(small.json?.stringValue?.hasPrefix("data:image/png;base64,") == true)

            let big = try await TestHTTP.post(proxy, "/big_image", ["kib": 3], headers: first)
            #expect(big.status == 200, "\(big.text)")
            let link = try #require(big.json?.stringValue)
            #expect(link.hasPrefix(proxy.baseURL + "/files/"), "\(link)")
            let path = String(link.dropFirst(proxy.baseURL.count))
            let file = try await TestHTTP.get(proxy, path, headers: first)
            #expect(file.status == 200, "\(file.text)")
            #expect(file.header("content-type") == "image/png")
            #expect(file.header("content-length") == "3072")
            let same = file.body == Self.expectedBytes(kib: 3)
            #expect(same, "the bytes differ")

            // Another credential, or none, never reads it.
            let other = try await TestHTTP.get(proxy, path, headers: [("Authorization", "Bearer second-key")])
            #expect(other.status == 404)
            let anonymous = try await TestHTTP.get(proxy, path)
            #expect(anonymous.status == 401)
            let unknown = try await TestHTTP.get(proxy, "/files/0123456789abcdef0123456789abcdef", headers: first)
            #expect(unknown.status == 404)
        }
    }

    @Test("a linked binary is gone once its time is up")
    func expiry() async throws {
        let arguments = ["--inline-binary-limit", "2048", "--file-ttl", "1", "--"] + PythonLine.mcp1.fastMCPServer
        try await withProxy(arguments) { proxy in
            let big = try await TestHTTP.post(proxy, "/big_image", ["kib": 3])
            let link = try #require(big.json?.stringValue)
            let path = String(link.dropFirst(proxy.baseURL.count))
            #expect(try await pollUntil(within: .seconds(60)) { try await TestHTTP.get(proxy, path).status == 404 })
            let expired = try await TestHTTP.get(proxy, path)
            #expect(expired.json?["detail"]?.stringValue?.contains("expired") == true)
        }
    }
}
