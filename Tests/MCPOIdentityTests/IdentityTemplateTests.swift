import JSONValue
import Testing

@testable import MCPOIdentity

@Suite("forwarded header templates")
struct IdentityTemplateTests {
    let tokenCaller = CallerIdentity(
        credential: .token(issuer: "https://idp/realms/main", subject: "u-1"), user: "alice", tenant: "acme",
        scopes: .everything,
        claims: ["sub": "u-1", "email": "alice@example.com", "org": ["unit": "kitchen"], "n": 42, "evil": "a\r\nX: b"])
    let keyCaller = CallerIdentity(credential: .apiKey(name: "ci"), user: "ci", scopes: .everything)

    @Test("each placeholder is filled from the verified identity")
    func placeholders() {
        #expect(IdentityTemplate.render("{{user}}", for: tokenCaller) == "alice")
        #expect(IdentityTemplate.render("{{tenant}}", for: tokenCaller) == "acme")
        #expect(IdentityTemplate.render("{{issuer}}", for: tokenCaller) == "https://idp/realms/main")
        #expect(IdentityTemplate.render("{{claims.email}}", for: tokenCaller) == "alice@example.com")
        #expect(IdentityTemplate.render("{{claims.org.unit}}", for: tokenCaller) == "kitchen")
        #expect(IdentityTemplate.render("{{claims.n}}", for: tokenCaller) == "42")
        #expect(IdentityTemplate.render("user={{ user }};t={{tenant}}", for: tokenCaller) == "user=alice;t=acme")
        #expect(IdentityTemplate.render("{{keyName}}", for: keyCaller) == "ci")
        #expect(IdentityTemplate.render("{{user}}", for: keyCaller) == "ci")
        #expect(IdentityTemplate.render("fixed", for: keyCaller) == "fixed")
    }

    @Test("a value that would be empty is not sent, nor one holding a line break")
    func refusedValues() {
        #expect(IdentityTemplate.render("{{keyName}}", for: tokenCaller) == nil)
        #expect(IdentityTemplate.render("{{tenant}}", for: keyCaller) == nil)
        #expect(IdentityTemplate.render("x-{{claims.missing}}", for: tokenCaller) == nil)
        #expect(IdentityTemplate.render("{{claims.evil}}", for: tokenCaller) == nil)
        #expect(IdentityTemplate.render("{{user", for: tokenCaller) == nil)
        #expect(IdentityTemplate.render("{{claims.org}}", for: tokenCaller) == nil, "an object is no header value")
    }
}
