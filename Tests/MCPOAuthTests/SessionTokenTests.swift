import Crypto
import Foundation
import JSONValue
import TestSupport
import Testing

@testable import MCPOAuth

/// A token signed by PyJWT (as Open WebUI signs its user tokens) with `claims` (JSON) and `key`.
func pyJWT(_ claims: String, key: String, algorithm: String = "HS256") throws -> String {
    let python = Process()
    python.executableURL = URL(fileURLWithPath: TestPaths.python)
    python.arguments = [
        "-c", "import jwt, json, sys; print(jwt.encode(json.loads(sys.argv[1]), sys.argv[2], algorithm=sys.argv[3]))",
        claims, key, algorithm,
    ]
    let output = Pipe()
    python.standardOutput = output
    try python.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    python.waitUntilExit()
    guard python.terminationStatus == 0 else { throw FixtureFailure("PyJWT failed") }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("Session tokens (multi-user identity)")
struct SessionTokenTests {
    /// Open WebUI's start script makes a 16-character key: shorter than 32 bytes on purpose.
    static let webuiKey = "t0p-s3cr3t-16chr"
    let tokens = SessionTokens(webuiSecretKey: webuiKey, sessionSecret: nil, timeout: 1800)

    let future = Int(Date().timeIntervalSince1970) + 600

    @Test func openWebUITokenVerified() throws {
        let token = try pyJWT(#"{"id": "user-1", "exp": \#(future), "jti": "x"}"#, key: Self.webuiKey)
        let identity = try tokens.verifyOpenWebUIToken(token)
        #expect(identity.userID == "user-1")
        #expect(identity.source == .openWebUI)
        #expect(Int(identity.expiresAt.timeIntervalSince1970) == future)
        // `sub` when there is no `id`.
        let subject = try pyJWT(#"{"sub": "user-2", "exp": \#(future)}"#, key: Self.webuiKey)
        #expect(try tokens.verifyOpenWebUIToken(subject).userID == "user-2")
        #expect(try tokens.identify(authorization: "Bearer \(token)", cookieHeader: nil).userID == "user-1")
    }

    @Test func forgedExpiredAndOddTokensRefused() throws {
        let forged = try pyJWT(#"{"id": "admin", "exp": \#(future)}"#, key: "another-key-entirely")
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) { try tokens.verifyOpenWebUIToken(forged) }
        let expired = try pyJWT(
            #"{"id": "user-1", "exp": \#(Int(Date().timeIntervalSince1970) - 5)}"#, key: Self.webuiKey)
        #expect(throws: OAuthError.invalidSessionToken(.expired)) { try tokens.verifyOpenWebUIToken(expired) }
        let eternal = try pyJWT(#"{"id": "user-1"}"#, key: Self.webuiKey)
        #expect(throws: OAuthError.invalidSessionToken(.missingExpiry)) { try tokens.verifyOpenWebUIToken(eternal) }
        let anonymous = try pyJWT(#"{"exp": \#(future)}"#, key: Self.webuiKey)
        #expect(throws: OAuthError.invalidSessionToken(.missingUser)) { try tokens.verifyOpenWebUIToken(anonymous) }
        let strong = try pyJWT(#"{"id": "user-1", "exp": \#(future)}"#, key: Self.webuiKey, algorithm: "HS512")
        #expect(throws: OAuthError.invalidSessionToken(.unsupportedAlgorithm("HS512"))) {
            try tokens.verifyOpenWebUIToken(strong)
        }
        let later = try pyJWT(#"{"id": "user-1", "exp": \#(future), "nbf": \#(future - 60)}"#, key: Self.webuiKey)
        #expect(throws: OAuthError.invalidSessionToken(.notYetValid)) { try tokens.verifyOpenWebUIToken(later) }

        // alg "none" with the signature stripped, and a payload swapped under a valid signature.
        let valid = try pyJWT(#"{"id": "user-1", "exp": \#(future)}"#, key: Self.webuiKey)
        let parts = valid.split(separator: ".").map(String.init)
        let none = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
        #expect(throws: OAuthError.invalidSessionToken(.malformed)) { try tokens.verifyOpenWebUIToken(none) }
        let noneSigned = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + parts[1] + "." + parts[2]
        #expect(throws: OAuthError.invalidSessionToken(.unsupportedAlgorithm("none"))) {
            try tokens.verifyOpenWebUIToken(noneSigned)
        }
        let swapped =
            parts[0] + "." + Base64URL.encode(Array(#"{"id":"admin","exp":\#(future)}"#.utf8)) + "." + parts[2]
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) { try tokens.verifyOpenWebUIToken(swapped) }
        #expect(throws: OAuthError.invalidSessionToken(.malformed)) { try tokens.verifyOpenWebUIToken("a.b") }
        #expect(throws: OAuthError.invalidSessionToken(.missing)) {
            try tokens.identify(authorization: nil, cookieHeader: "x=1")
        }
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) {
            try tokens.identify(authorization: "Bearer \(forged)", cookieHeader: nil)
        }
        // Without a webui_secret_key no Open WebUI token is accepted at all.
        let plain = SessionTokens(webuiSecretKey: nil, sessionSecret: nil, timeout: 60)
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) { try plain.verifyOpenWebUIToken(valid) }
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) {
            try plain.identify(authorization: "Bearer \(valid)", cookieHeader: nil)
        }
    }

    @Test func proxySessionTokenRoundTripAndCookie() throws {
        let now = Date()
        let token = tokens.issueSessionToken(userID: "u-42", now: now)
        let identity = try tokens.verifySessionToken(token, now: now)
        #expect(identity.userID == "u-42" && identity.source == .proxySession)
        #expect(Int(identity.expiresAt.timeIntervalSince1970) == Int(now.timeIntervalSince1970) + 1800)
        #expect(throws: OAuthError.invalidSessionToken(.expired)) {
            try tokens.verifySessionToken(token, now: now + 1801)
        }
        // Our session token is no Open WebUI token (separate keys), but identify accepts it as a bearer too.
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) { try tokens.verifyOpenWebUIToken(token) }
        #expect(try tokens.identify(authorization: "Bearer \(token)", cookieHeader: nil, now: now).userID == "u-42")
        // …and from the cookie.
        let cookie = tokens.setCookie(token)
        #expect(cookie == "mcpo_session=\(token); Max-Age=1800; Path=/; HttpOnly; Secure; SameSite=Lax")
        #expect(
            try tokens.identify(authorization: nil, cookieHeader: "a=b; mcpo_session=\(token); c=d", now: now).userID
                == "u-42")
        #expect(tokens.clearCookie() == "mcpo_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax")
        // An Open WebUI token is not a proxy session token even when validly signed by Open WebUI.
        let webui = try pyJWT(#"{"sub": "u-42", "exp": \#(future)}"#, key: Self.webuiKey)
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) { try tokens.verifySessionToken(webui) }
        // Another process (random key) does not accept it.
        let other = SessionTokens(webuiSecretKey: nil, sessionSecret: nil, timeout: 1800)
        #expect(other.ephemeralSessionKey)
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) { try other.verifySessionToken(token, now: now) }
        #expect(SessionTokens.newUserID().count == 22)
    }

    @Test func configuredSessionSecretsShortAndLong() throws {
        let short = SessionTokens(webuiSecretKey: nil, sessionSecret: "short", timeout: 60)
        let again = SessionTokens(webuiSecretKey: nil, sessionSecret: "short", timeout: 60)
        let token = short.issueSessionToken(userID: "u")
        #expect(try again.verifySessionToken(token).userID == "u", "survives a restart")
        // A short secret is hashed: the raw secret does not verify it.
        #expect(throws: OAuthError.invalidSessionToken(.badSignature)) {
            try HS256JWT.verify(token, key: SymmetricKey(data: Array("short".utf8)))
        }
        let long = String(repeating: "k", count: 40)
        let direct = SessionTokens(webuiSecretKey: nil, sessionSecret: long, timeout: 60).issueSessionToken(userID: "u")
        #expect(try HS256JWT.verify(direct, key: SymmetricKey(data: Array(long.utf8)))["sub"] == "u")
    }
}
