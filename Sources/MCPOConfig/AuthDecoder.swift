import Foundation
import JSONValue

/// Reads the `auth` object, or explains precisely why it cannot: each error names the file, the key path
/// (`auth.jwt[0].audience`) and what is expected, and never quotes a secret.
struct AuthDecoder {
    let file: String
    let environment: [String: String]
    private(set) var warnings: [String] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    static let topKeys: Set<String> = ["apiKeys", "jwt", "openWebUI"]
    static let keyKeys: Set<String> = ["name", "key", "sha256", "scopes"]
    static let issuerKeys: Set<String> = [
        "issuer", "audience", "jwksUri", "algorithms", "scopesClaim", "userClaim", "tenantClaim", "rolesClaim",
        "roleScopes", "leewaySeconds",
    ]
    static let openWebUIKeys: Set<String> = ["userJwtSecret", "roleScopes"]

    mutating func decode(_ value: JSON, at path: String = "auth") throws(ConfigError) -> AuthConfig {
        guard case .object(let written) = value else { throw error(path, "expected an object, got \(Self.got(value))") }
        let object = try expanded(written, at: path)
        unknownKeys(object, known: Self.topKeys, at: path)
        var config = AuthConfig()
        if let keys = present(object["apiKeys"]) {
            config.apiKeys = try apiKeys(keys, at: path + ".apiKeys")
        }
        if let issuers = present(object["jwt"]) {
            config.jwtIssuers = try jwtIssuers(issuers, at: path + ".jwt")
        }
        if let openWebUI = present(object["openWebUI"]) {
            config.openWebUI = try openWebUIUsers(openWebUI, at: path + ".openWebUI")
        }
        return config
    }

    // MARK: - API keys

    private mutating func apiKeys(_ value: JSON, at path: String) throws(ConfigError) -> [NamedAPIKey] {
        guard case .array(let entries) = value else {
            throw error(path, "expected a list of keys, got \(Self.got(value))")
        }
        var keys: [NamedAPIKey] = []
        var names: Set<String> = []
        for (index, entry) in entries.enumerated() {
            let at = "\(path)[\(index)]"
            guard case .object(let object) = entry else {
                throw error(at, "expected an object with 'name', 'key' or 'sha256', and 'scopes'")
            }
            unknownKeys(object, known: Self.keyKeys, at: at)
            let name = try nonEmptyString(object["name"], at: at + ".name", required: true) ?? ""
            guard names.insert(name).inserted else { throw error(at + ".name", "the name '\(name)' is used twice") }
            let secret: NamedAPIKey.Secret
            switch (present(object["key"]), present(object["sha256"])) {
            case (let key?, nil):
                guard case .string(let text) = key, !text.isEmpty else {
                    throw error(at + ".key", "expected the key as a non-empty string")
                }
                secret = .plain(text)
            case (nil, let digest?):
                guard case .string(let hex) = digest, let bytes = Self.hexBytes(hex), bytes.count == 32 else {
                    throw error(at + ".sha256", "expected 64 hex digits: the SHA-256 of the key")
                }
                secret = .sha256(bytes)
            case (nil, nil):
                throw error(at, "needs 'key' or 'sha256'")
            default:
                throw error(at, "has both 'key' and 'sha256'; give one")
            }
            keys.append(
                NamedAPIKey(
                    name: name, secret: secret, scopes: try scopeList(object["scopes"], at: at + ".scopes") ?? []))
        }
        return keys
    }

    // MARK: - JWT issuers

    private mutating func jwtIssuers(_ value: JSON, at path: String) throws(ConfigError) -> [JWTIssuerSettings] {
        let entries: [JSON]
        switch value {
        case .array(let list): entries = list
        case .object: entries = [value]
        default: throw error(path, "expected a list of issuers, got \(Self.got(value))")
        }
        var issuers: [JWTIssuerSettings] = []
        for (index, entry) in entries.enumerated() {
            let at = "\(path)[\(index)]"
            guard case .object(let object) = entry else { throw error(at, "expected an object describing an issuer") }
            unknownKeys(object, known: Self.issuerKeys, at: at)
            guard let issuer = try nonEmptyString(object["issuer"], at: at + ".issuer", required: true),
                Self.isHTTPURL(issuer)
            else { throw error(at + ".issuer", "expected the issuer's http(s) URL, as its tokens' `iss` names it") }
            guard !issuers.contains(where: { $0.issuer == issuer }) else {
                throw error(at + ".issuer", "the issuer \(issuer) is configured twice")
            }
            let audiences: [String]
            switch present(object["audience"]) {
            case .string(let text)? where !text.isEmpty:
                audiences = [text]
            case .array(let list)? where !list.isEmpty:
                var collected: [String] = []
                for (position, item) in list.enumerated() {
                    guard case .string(let text) = item, !text.isEmpty else {
                        throw error("\(at).audience[\(position)]", "expected a non-empty string")
                    }
                    collected.append(text)
                }
                audiences = collected
            case nil:
                throw error(at + ".audience", "missing; the proxy's identifier that tokens must name in `aud`")
            case let other?:
                throw error(
                    at + ".audience", "expected a string or a non-empty list of strings, got \(Self.got(other))")
            }
            var settings = JWTIssuerSettings(issuer: issuer, audiences: audiences)
            if let uri = try nonEmptyString(object["jwksUri"], at: at + ".jwksUri") {
                guard Self.isHTTPURL(uri) else { throw error(at + ".jwksUri", "expected an http(s) URL") }
                settings.jwksURI = uri
            }
            if let algorithms = present(object["algorithms"]) {
                settings.algorithms = try algorithmList(algorithms, at: at + ".algorithms")
            }
            settings.scopesClaim = try nonEmptyString(object["scopesClaim"], at: at + ".scopesClaim")
            settings.userClaim = try nonEmptyString(object["userClaim"], at: at + ".userClaim") ?? "sub"
            settings.tenantClaim = try nonEmptyString(object["tenantClaim"], at: at + ".tenantClaim")
            settings.rolesClaim = try nonEmptyString(object["rolesClaim"], at: at + ".rolesClaim")
            settings.roleScopes = try roleScopes(object["roleScopes"], at: at + ".roleScopes")
            if !settings.roleScopes.isEmpty, settings.rolesClaim == nil {
                throw error(at + ".rolesClaim", "missing; 'roleScopes' needs the claim that holds the roles")
            }
            if let leeway = present(object["leewaySeconds"]) {
                guard let seconds = leeway.doubleValue, seconds >= 0, seconds <= 600 else {
                    throw error(
                        at + ".leewaySeconds", "expected a number of seconds from 0 to 600, got \(Self.got(leeway))")
                }
                settings.leewaySeconds = seconds
            }
            issuers.append(settings)
        }
        return issuers
    }

    private func algorithmList(_ value: JSON, at path: String) throws(ConfigError) -> [String] {
        guard case .array(let list) = value, !list.isEmpty else {
            throw error(path, "expected a non-empty list such as [\"RS256\", \"ES256\"]")
        }
        var algorithms: [String] = []
        for (index, item) in list.enumerated() {
            guard case .string(let name) = item else { throw error("\(path)[\(index)]", "expected an algorithm name") }
            guard JWTIssuerSettings.asymmetricAlgorithms.contains(name) else {
                let reason =
                    name.lowercased() == "none" || name.uppercased().hasPrefix("HS")
                    ? "'\(name)' is never accepted from a JWKS issuer (no key proves such a token)"
                    : "unknown algorithm '\(name)'"
                throw error(
                    "\(path)[\(index)]",
                    reason + "; expected some of " + JWTIssuerSettings.asymmetricAlgorithms.joined(separator: ", "))
            }
            algorithms.append(name)
        }
        return algorithms
    }

    // MARK: - Open WebUI

    private mutating func openWebUIUsers(_ value: JSON, at path: String) throws(ConfigError) -> OpenWebUIUserSettings {
        guard case .object(let object) = value else { throw error(path, "expected an object, got \(Self.got(value))") }
        unknownKeys(object, known: Self.openWebUIKeys, at: path)
        guard case .string(let secret)? = present(object["userJwtSecret"]), !secret.isEmpty else {
            throw error(
                path + ".userJwtSecret",
                "expected the secret Open WebUI signs X-OpenWebUI-User-Jwt with, as a non-empty string")
        }
        return OpenWebUIUserSettings(
            userJwtSecret: secret, roleScopes: try roleScopes(object["roleScopes"], at: path + ".roleScopes"))
    }

    // MARK: - Pieces

    private func roleScopes(_ value: JSON?, at path: String) throws(ConfigError) -> [String: [String]] {
        guard let value = present(value) else { return [:] }
        guard case .object(let object) = value else {
            throw error(path, "expected an object mapping each role to its scopes, got \(Self.got(value))")
        }
        var result: [String: [String]] = [:]
        for (role, scopes) in object {
            result[role] = try scopeList(scopes, at: "\(path).\(role)") ?? []
        }
        return result
    }

    /// A list of scopes (`*` wildcards allowed); nil when absent.
    func scopeList(_ value: JSON?, at path: String) throws(ConfigError) -> [String]? {
        guard let value = present(value) else { return nil }
        guard case .array(let list) = value else {
            throw error(
                path, "expected a list of scopes such as [\"kitchen:read\", \"time:*\"], got \(Self.got(value))")
        }
        var scopes: [String] = []
        for (index, item) in list.enumerated() {
            guard case .string(let scope) = item, !scope.isEmpty,
                !scope.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0 == "\"" || $0 == "\\" })
            else {
                throw error(
                    "\(path)[\(index)]", "expected a scope: a non-empty string without spaces, quotes or backslashes")
            }
            scopes.append(scope)
        }
        return scopes
    }

    private func nonEmptyString(_ value: JSON?, at path: String, required: Bool = false) throws(ConfigError) -> String?
    {
        guard let value = present(value) else {
            if required { throw error(path, "missing") }
            return nil
        }
        guard case .string(let text) = value, !text.isEmpty else {
            throw error(path, "expected a non-empty string, got \(Self.got(value))")
        }
        return text
    }

    private func present(_ value: JSON?) -> JSON? {
        if let value, !value.isNull { return value }
        return nil
    }

    /// `${VAR}` expanded in every string of the object (as everywhere in the file).
    private func expanded(_ object: OrderedJSONObject, at path: String) throws(ConfigError) -> OrderedJSONObject {
        guard case .object(let result) = try expand(.object(object), at: path) else { return object }
        return result
    }

    func expand(_ value: JSON, at path: String) throws(ConfigError) -> JSON {
        switch value {
        case .string(let text):
            do {
                return .string(try EnvironmentExpander(environment: environment).expand(text))
            } catch {
                throw self.error(path, error.message)
            }
        case .array(let elements):
            var out: [JSON] = []
            for (index, element) in elements.enumerated() { out.append(try expand(element, at: "\(path)[\(index)]")) }
            return .array(out)
        case .object(let members):
            var out = members
            for (member, element) in members { out[member] = try expand(element, at: "\(path).\(member)") }
            return .object(out)
        default:
            return value
        }
    }

    private mutating func unknownKeys(_ object: OrderedJSONObject, known: Set<String>, at path: String) {
        for key in object.keys where !known.contains(key) {
            warnings.append("\(file): unknown key '\(path).\(key)' is ignored")
        }
    }

    func error(_ path: String, _ message: String) -> ConfigError {
        ConfigError(file: file, server: nil, key: path, message: message)
    }

    /// A value's type, with booleans and numbers shown (never strings: they may be secrets).
    static func got(_ value: JSON) -> String {
        switch value {
        case .bool(let flag): "boolean \(flag)"
        case .number(let number): "number \(number.text)"
        default: EntryDecoder.typeName(value)
        }
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else { return false }
        return (scheme == "http" || scheme == "https") && url.host != nil
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
