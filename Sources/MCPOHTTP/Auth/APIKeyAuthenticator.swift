import Crypto
import Foundation
import JSONValue

/// The API key check, as mcpo does it but constant-time and with several keys.
///
/// Without strict mode only tool routes are guarded and only `Bearer <key>` is accepted (the scheme in any
/// case). In strict mode every route is guarded and Basic `<any user>:<key>` is accepted too, on every route.
struct APIKeyAuthenticator: Sendable {
    enum Verdict: Equatable {
        case allowed
        case denied(status: Int, detail: String, challenge: String?)
    }

    private let keyDigests: [SHA256Digest]
    let strict: Bool

    init(keys: [String], strict: Bool) {
        self.keyDigests = keys.map { SHA256.hash(data: Data($0.utf8)) }
        self.strict = strict
    }

    var isEnabled: Bool { !keyDigests.isEmpty }

    /// Whether a route needs a key at all: tool routes always, documents only in strict mode.
    func guards(toolRoute: Bool) -> Bool {
        isEnabled && (toolRoute || strict)
    }

    func check(authorization: String?) -> Verdict {
        let challenge = strict ? "Bearer, Basic" : "Bearer"
        let missing = Verdict.denied(
            status: 401, detail: "Missing or invalid Authorization header", challenge: challenge)
        guard let authorization, let space = authorization.firstIndex(of: " ") else { return missing }
        let scheme = authorization[..<space].lowercased()
        // Trimmed with the standard library: Foundation's trimming costs more than the rest of the check.
        var trimmed = authorization[authorization.index(after: space)...]
        while trimmed.first?.isWhitespace == true { trimmed.removeFirst() }
        while trimmed.last?.isWhitespace == true { trimmed.removeLast() }
        let credentials = String(trimmed)
        switch scheme {
        case "bearer":
            guard !credentials.isEmpty else { return missing }
            return matches(credentials) ? .allowed : .denied(status: 403, detail: "Invalid API key", challenge: nil)
        case "basic" where strict:
            guard let decoded = Data(base64Encoded: credentials).flatMap({ String(data: $0, encoding: .utf8) }),
                let colon = decoded.firstIndex(of: ":")
            else {
                return .denied(status: 401, detail: "Invalid Basic Authentication format", challenge: challenge)
            }
            let password = String(decoded[decoded.index(after: colon)...])
            return matches(password) ? .allowed : .denied(status: 403, detail: "Invalid credentials", challenge: nil)
        default:
            return strict
                ? .denied(status: 401, detail: "Unsupported authorization method", challenge: challenge) : missing
        }
    }

    /// The caller of a guarded route (the keys of `--api-key` are named `cli`), or why it is refused.
    func authenticate(authorization: String?) -> Result<Caller, CallFailure> {
        switch check(authorization: authorization) {
        case .allowed:
            return .success(Caller(credential: .apiKey(name: Caller.commandLineKeyName)))
        case .denied(let status, let detail, let challenge):
            return .failure(
                status == 401 ? .unauthenticated(detail: detail, challenge: challenge) : .forbidden(detail: detail))
        }
    }

    /// Compares digests so the time taken says nothing about how much of a key matched; every key is
    /// compared so it says nothing about which key matched either.
    private func matches(_ candidate: String) -> Bool {
        let digest = SHA256.hash(data: Data(candidate.utf8))
        var found = false
        for key in keyDigests {
            var difference: UInt8 = 0
            for (left, right) in zip(key, digest) { difference |= left ^ right }
            found = found || difference == 0
        }
        return found
    }
}
