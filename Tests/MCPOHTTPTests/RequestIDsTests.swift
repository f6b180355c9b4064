import Testing

@testable import MCPOHTTP

@Suite("request ids")
struct RequestIDsTests {
    @Test("the process's prefix, a dash and the count in hex: unique, sane, in order")
    func format() throws {
        let ids = RequestIDs()
        let made = (0..<300).map { _ in ids.next() }
        let prefix = try #require(made.first?.split(separator: "-").first)
        #expect(!prefix.isEmpty && prefix.allSatisfy(\.isHexDigit))
        #expect(made.map { $0.dropFirst(prefix.count + 1) } == (1...300).map { Substring(String($0, radix: 16)) })
        #expect(made.allSatisfy { $0.hasPrefix(prefix + "-") && RequestIDs.isSane($0) })
        #expect(Set(made).count == 300)
    }
}
