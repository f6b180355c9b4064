import Foundation
import JSONValue

/// Where the Swagger UI and ReDoc scripts come from: a CDN (as FastAPI does), or files of our own so that
/// `/docs` works on a machine without Internet access (`--docs-assets DIR`).
public struct DocsAssets: Sendable {
    public static let fileNames = ["swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"]
    static let routePrefix = "/docs-assets/"

    /// File name → contents, when served locally.
    let localFiles: [String: [UInt8]]

    public static let cdn = DocsAssets(localFiles: [:])

    /// Reads the asset files from `directory`; swagger-ui-bundle.js and swagger-ui.css must exist.
    public static func load(from directory: String) throws(ProxyStartupError) -> DocsAssets {
        var files: [String: [UInt8]] = [:]
        for name in fileNames {
            let path = (directory as NSString).appendingPathComponent(name)
            if let data = FileManager.default.contents(atPath: path) {
                files[name] = Array(data)
            }
        }
        for required in fileNames.prefix(2) where files[required] == nil {
            throw ProxyStartupError(
                description:
                    "the docs assets folder '\(directory)' has no \(required) (scripts/fetch-docs-assets.sh fetches it)"
            )
        }
        return DocsAssets(localFiles: files)
    }

    var isLocal: Bool { !localFiles.isEmpty }

    func url(of file: String, rootPath: String) -> String {
        if isLocal, localFiles[file] != nil { return rootPath + Self.routePrefix + file }
        switch file {
        case "redoc.standalone.js": return "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"
        default: return "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/\(file)"
        }
    }

    static func contentType(of file: String) -> String {
        file.hasSuffix(".css") ? "text/css; charset=utf-8" : "application/javascript; charset=utf-8"
    }
}

/// The HTML of `/docs`, `/docs/oauth2-redirect` and `/redoc`, shaped like FastAPI's so mcpo users see the same.
enum DocsPages {
    static func swaggerUI(title: String, openAPIURL: String, docsURL: String, assets: DocsAssets, rootPath: String)
        -> String
    {
        """
        <!DOCTYPE html>
        <html>
        <head>
        <meta charset="utf-8">
        <link type="text/css" rel="stylesheet" href="\(assets.url(of: "swagger-ui.css", rootPath: rootPath))">
        <title>\(escapeHTML(title)) - Swagger UI</title>
        </head>
        <body>
        <div id="swagger-ui">
        </div>
        <script src="\(assets.url(of: "swagger-ui-bundle.js", rootPath: rootPath))"></script>
        <script>
        const ui = SwaggerUIBundle({
            url: \(jsString(openAPIURL)),
            dom_id: "#swagger-ui",
            layout: "BaseLayout",
            deepLinking: true,
            showExtensions: true,
            showCommonExtensions: true,
            oauth2RedirectUrl: window.location.origin + \(jsString(docsURL + "/oauth2-redirect")),
            presets: [
                SwaggerUIBundle.presets.apis,
                SwaggerUIBundle.SwaggerUIStandalonePreset
            ],
        })
        </script>
        </body>
        </html>
        """
    }

    static func redoc(title: String, openAPIURL: String, assets: DocsAssets, rootPath: String) -> String {
        """
        <!DOCTYPE html>
        <html>
        <head>
        <title>\(escapeHTML(title)) - ReDoc</title>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
          body { margin: 0; padding: 0; }
        </style>
        </head>
        <body>
        <noscript>
            ReDoc requires Javascript to function. Please enable it to browse the documentation.
        </noscript>
        <redoc spec-url="\(escapeHTML(openAPIURL))"></redoc>
        <script src="\(assets.url(of: "redoc.standalone.js", rootPath: rootPath))"> </script>
        </body>
        </html>
        """
    }

    /// Swagger UI's OAuth2 redirect helper page (same script FastAPI serves).
    static let oauth2Redirect = """
        <!doctype html>
        <html lang="en-US">
        <head>
            <title>Swagger UI: OAuth2 Redirect</title>
        </head>
        <body>
        <script>
            'use strict';
            function run () {
                var oauth2 = window.opener.swaggerUIRedirectOauth2;
                var sentState = oauth2.state;
                var redirectUrl = oauth2.redirectUrl;
                var isValid, qp, arr;
                if (/code|token|error/.test(window.location.hash)) {
                    qp = window.location.hash.substring(1).replace('?', '&');
                } else {
                    qp = location.search.substring(1);
                }
                arr = qp.split("&");
                arr.forEach(function (v,i,_arr) { _arr[i] = '"' + v.replace('=', '":"') + '"';});
                qp = qp ? JSON.parse('{' + arr.join() + '}',
                        function (key, value) {
                            return key === "" ? value : decodeURIComponent(value);
                        }
                ) : {};
                isValid = qp.state === sentState;
                if ((oauth2.auth.schema.get("flow") === "accessCode" ||
                     oauth2.auth.schema.get("flow") === "authorizationCode" ||
                     oauth2.auth.schema.get("flow") === "authorization_code") && !oauth2.auth.code) {
                    if (!isValid) {
                        oauth2.errCb({ authId: oauth2.auth.name, source: "auth", level: "warning",
                            message: "Authorization may be unsafe, passed state was changed in server. The passed state wasn't returned from auth server." });
                    }
                    if (qp.code) {
                        delete oauth2.state;
                        oauth2.auth.code = qp.code;
                        oauth2.callback({auth: oauth2.auth, redirectUrl: redirectUrl});
                    } else {
                        let oauthErrorMsg;
                        if (qp.error) {
                            oauthErrorMsg = "["+qp.error+"]: " +
                                (qp.error_description ? qp.error_description+ ". " : "no accessCode received from the server. ") +
                                (qp.error_uri ? "More info: "+qp.error_uri : "");
                        }
                        oauth2.errCb({ authId: oauth2.auth.name, source: "auth", level: "error",
                            message: oauthErrorMsg || "[Authorization failed]: no accessCode received from the server." });
                    }
                } else {
                    oauth2.callback({auth: oauth2.auth, token: qp, isValid: isValid, redirectUrl: redirectUrl});
                }
                window.close();
            }
            if (document.readyState !== 'loading') {
                run();
            } else {
                document.addEventListener('DOMContentLoaded', function () { run(); });
            }
        </script>
        </body>
        </html>
        """

    static func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A JavaScript string literal that cannot close the script element.
    static func jsString(_ text: String) -> String {
        var out: [UInt8] = []
        JSONValue.JSON.writeString(text, into: &out)
        return String(decoding: out, as: UTF8.self).replacingOccurrences(of: "</", with: "<\\/")
    }
}
