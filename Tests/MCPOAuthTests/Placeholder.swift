import Testing

@testable import MCPOAuth

@Test func placeholder() {}
