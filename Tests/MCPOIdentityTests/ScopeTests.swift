import MCPOConfig
import Testing

@testable import MCPOIdentity

@Suite("scopes and tool globs")
struct ScopeTests {
    @Test("a tool glob: * any run of characters, ? one character, everything else literal and whole")
    func toolGlobs() {
        #expect(Glob.matches("delete_*", "delete_combo"))
        #expect(Glob.matches("delete_*", "delete_"))
        #expect(!Glob.matches("delete_*", "undelete_combo"))
        #expect(Glob.matches("*", ""))
        #expect(Glob.matches("get_?", "get_a"))
        #expect(!Glob.matches("get_?", "get_ab"))
        #expect(!Glob.matches("get_?", "get_"))
        #expect(Glob.matches("*_*_x", "a_b_c_x"))
        #expect(!Glob.matches("read", "read_all"))
        #expect(Glob.matches("a*b*c", "aXXbYYbZc"))
        #expect(!Glob.matches("a*b*c", "aXXbYYbZ"))
    }

    @Test("a granted scope's * matches any run; ? is literal in scopes")
    func grantedWildcards() {
        let grant = ScopeGrant(["read:*", "*:write", "kitchen:?"])
        #expect(grant.allows("read:health"))
        #expect(grant.allows("read:"))
        #expect(grant.allows("combos:write"))
        #expect(!grant.allows("combos:delete"))
        #expect(grant.allows("kitchen:?"))
        #expect(!grant.allows("kitchen:x"), "? is a literal in a granted scope")
        #expect(ScopeGrant.everything.allows("anything:at all"))
        #expect(!ScopeGrant.nothing.allows("read:health"))
        #expect(grant.missing(["read:a", "combos:delete", "x:write", "y"]) == ["combos:delete", "y"])
    }

    @Test("a narrowed grant allows only what both the key and the role allow")
    func narrowing() {
        let key = ScopeGrant(["kitchen:*", "time:read"])
        let user = key.narrowed(by: ["*:read"])
        #expect(user.allows("kitchen:read"))
        #expect(user.allows("time:read"))
        #expect(!user.allows("kitchen:write"), "the role does not allow it")
        #expect(!user.allows("weather:read"), "the key does not allow it")
        #expect(!key.narrowed(by: []).allows("kitchen:read"), "a role without scopes gets none")
    }

    @Test("toolScopes: the first entry whose glob matches decides; a tool no entry matches needs no scope")
    func firstMatch() {
        let rules = ToolScopeRules([
            ToolScopeRule(toolGlob: "delete_*", scopes: ["kitchen:write", "kitchen:admin"]),
            ToolScopeRule(toolGlob: "delete_all", scopes: ["never:used"]),
            ToolScopeRule(toolGlob: "get_*", scopes: ["kitchen:read"]),
        ])
        #expect(rules.requiredScopes(for: "delete_all") == ["kitchen:write", "kitchen:admin"])
        #expect(rules.requiredScopes(for: "get_menu") == ["kitchen:read"])
        #expect(rules.requiredScopes(for: "cook") == [])
        #expect(rules.allScopes == ["kitchen:write", "kitchen:admin", "never:used", "kitchen:read"])
        let catchAll = ToolScopeRules([
            ToolScopeRule(toolGlob: "delete_*", scopes: ["kitchen:write"]),
            ToolScopeRule(toolGlob: "*", scopes: ["kitchen:read"]),
        ])
        #expect(catchAll.requiredScopes(for: "cook") == ["kitchen:read"])
        #expect(catchAll.requiredScopes(for: "delete_x") == ["kitchen:write"], "not both: the first decides")
    }
}
