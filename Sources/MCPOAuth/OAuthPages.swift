import Foundation
import JSONValue

/// The small HTML pages and JSON bodies the callback listeners and the proxy's OAuth routes answer with.
public enum OAuthPages {
    /// The page after a successful authorization (`<title>Authorization Successful - MCPO</title>` as mcpo).
    public static func success(server: String) -> String {
        page(
            title: "Authorization Successful", heading: "Authorization Successful!",
            text: "The proxy is now authorized for \(server). You can close this window.")
    }

    /// The page after a failed or refused authorization; `reason` is shown escaped.
    public static func failure(server: String?, reason: String) -> String {
        page(
            title: "Authorization Failed", heading: "Authorization Failed",
            text: (server.map { "Authorizing \($0) failed: " } ?? "Authorization failed: ") + reason)
    }

    static func page(title: String, heading: String, text: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) - MCPO</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}</style></head>
        <body><h1>\(escape(heading))</h1><p>\(escape(text))</p></body></html>

        """
    }

    /// HTML text escaping (`& < > " '`).
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// The 401 body of a tool call (or `/oauth/<server>/authorize` for API callers) that needs authorization:
    /// `{"error":"authentication_required","message":"…[link]…","server":…,"authorization_url":…}`
    /// (plus `user_code` for the device grant). The message is Markdown, so chat UIs show a link.
    public static func authorizationRequiredBody(_ prompt: AuthorizationPrompt) -> JSON {
        authorizationRequiredBody(
            server: prompt.server, url: prompt.url, userCode: prompt.userCode, expiresAt: prompt.expiresAt)
    }

    /// The same body from its parts.
    public static func authorizationRequiredBody(server: String, url: String, userCode: String?, expiresAt: Date?)
        -> JSON
    {
        var object: OrderedJSONObject = ["error": "authentication_required"]
        if let code = userCode {
            object["message"] = .string(
                "Authorization required for \(server): open [\(url)](\(url)) and enter the code \(code).")
        } else {
            object["message"] = .string("Authorization required for \(server): [authorize here](\(url)), then retry.")
        }
        object["server"] = .string(server)
        object["authorization_url"] = .string(url)
        if let code = userCode { object["user_code"] = .string(code) }
        if let expiresAt { object["expires_at"] = .int(Int(expiresAt.timeIntervalSince1970)) }
        return .object(object)
    }

    /// The body of `GET /oauth/<server>/status`:
    /// `{"server", "authenticated", "state": "authorized"|"pending"|"needs_authorization", "user_id"?, "scope"?,
    /// "expires_at"?, "authorization_url"?, "user_code"?}`; the user id is shortened to 8 characters (as mcpo).
    public static func statusBody(server: String, user: String?, status: OAuthStatus) -> JSON {
        var object: OrderedJSONObject = ["server": .string(server)]
        if let user { object["user_id"] = .string(user.count > 8 ? String(user.prefix(8)) + "..." : user) }
        switch status {
        case .authorized(let expiresAt, let scope):
            object["authenticated"] = true
            object["state"] = "authorized"
            if let scope { object["scope"] = .string(scope) }
            if let expiresAt { object["expires_at"] = .int(Int(expiresAt.timeIntervalSince1970)) }
        case .pending(let prompt):
            object["authenticated"] = false
            object["state"] = "pending"
            object["authorization_url"] = .string(prompt.url)
            if let code = prompt.userCode { object["user_code"] = .string(code) }
            object["expires_at"] = .int(Int(prompt.expiresAt.timeIntervalSince1970))
        case .needsAuthorization:
            object["authenticated"] = false
            object["state"] = "needs_authorization"
        }
        return .object(object)
    }
}
