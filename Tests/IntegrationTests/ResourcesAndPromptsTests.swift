import Foundation
import JSONValue
import TestSupport
import Testing

/// Resources and prompts over REST, against the official Python SDK's servers of both lines (stdio and streamable
/// HTTP), in single-server and config mode, with scopes and the audit log.
@Suite("resources and prompts over REST")
struct ResourcesAndPromptsTests {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Every route of one server mounted at `prefix`, read as a caller would.
    static func checkRoutes(_ proxy: ProxyProcess, prefix: String = "", headers: [(String, String)] = []) async throws {
        let listing = try await TestHTTP.get(proxy, prefix + "/resources", headers: headers)
        #expect(listing.status == 200, "\(listing.text)")
        let uris = listing.json?["resources"]?.arrayValue?.compactMap { $0["uri"]?.stringValue } ?? []
        #expect(uris == ["fixture://notes/readme", "fixture://data/config.json", "fixture://images/pixel.png"])
        #expect(listing.json?["resourceTemplates"]?[0]?["uriTemplate"] == "fixture://users/{user_id}/profile")

        func read(_ uri: String) async throws -> HTTPReply {
            let escaped = uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? uri
            return try await TestHTTP.get(proxy, prefix + "/resources/read?uri=" + escaped, headers: headers)
        }
        let readme = try await read("fixture://notes/readme")
        #expect(readme.status == 200)
        #expect(readme.header("content-type") == "text/plain; charset=utf-8")
        #expect(readme.text == "hello from the notes")
        let config = try await read("fixture://data/config.json")
        #expect(config.header("content-type") == "application/json")
        #expect(config.json == ["mode": "test", "level": 3])
        let pixel = try await read("fixture://images/pixel.png")
        #expect(pixel.header("content-type") == "image/png")
        #expect(Array(pixel.body.prefix(8)) == Self.pngSignature)
        #expect(pixel.header("content-length") == String(pixel.body.count))
        let profile = try await read("fixture://users/ann/profile")
        #expect(profile.header("content-type") == "text/markdown; charset=utf-8")
        #expect(profile.text == "# ann\n\nA fixture user.")
        let unknown = try await read("fixture://nope")
        #expect(unknown.status == 404, "\(unknown.text)")
        #expect(unknown.json?["detail"]?.stringValue?.contains("no resource 'fixture://nope'") == true)
        let noURI = try await TestHTTP.get(proxy, prefix + "/resources/read", headers: headers)
        #expect(noURI.status == 422)
        #expect(noURI.json?["detail"]?[0]?["loc"] == ["body", "uri"])
        let posted = try await TestHTTP.post(proxy, prefix + "/resources", [:], headers: headers)
        #expect(posted.status == 405)
        #expect(posted.header("allow") == "GET")

        let prompts = try await TestHTTP.get(proxy, prefix + "/prompts", headers: headers)
        #expect(prompts.status == 200)
        #expect(prompts.json?["prompts"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["greet", "review"])
        let greeting = try await TestHTTP.post(proxy, prefix + "/prompts/greet", ["name": "Ann"], headers: headers)
        #expect(greeting.status == 200, "\(greeting.text)")
        #expect(greeting.json?["description"] == "Greets someone by name")
        #expect(greeting.json?["messages"]?[0]?["content"]?["text"] == "Say hello to Ann in a plain style.")
        let review = try await TestHTTP.post(proxy, prefix + "/prompts/review", ["code": "x=1"], headers: headers)
        #expect(review.json?["messages"]?.arrayValue?.map { $0["role"] } == ["user", "assistant"])
        let missing = try await TestHTTP.post(proxy, prefix + "/prompts/greet", [:], headers: headers)
        #expect(missing.status == 422, "\(missing.text)")
        #expect(missing.json?["detail"]?[0]?["loc"] == ["body", "name"])
        let numeric = try await TestHTTP.post(proxy, prefix + "/prompts/greet", ["name": 3], headers: headers)
        #expect(numeric.status == 422, "prompt arguments are strings: \(numeric.text)")
        let absent = try await TestHTTP.post(proxy, prefix + "/prompts/absent", [:], headers: headers)
        #expect(absent.status == 404)
    }

    @Test(
        "single-server mode over stdio: the routes at the root, and described with the expose flags",
        arguments: PythonLine.allCases)
    func singleServer(line: PythonLine) async throws {
        try await withProxy(["--expose-resources", "--expose-prompts", "--"] + line.fastMCPServer) { proxy in
            try await Self.checkRoutes(proxy)
            let reply = try await TestHTTP.get(proxy, "/openapi.json")
            let validation = try await OpenAPIValidator.validate(reply.body)
            #expect(validation.valid, "\(validation.output)")
            let paths = try #require(reply.json?["paths"])
            #expect(paths["/resources"]?["get"]?["operationId"] == "resources_list_get")
            let read = try #require(paths["/resources/read"]?["get"])
            #expect(read["parameters"]?[0]?["name"] == "uri")
            #expect(read["parameters"]?[0]?["required"] == true)
            #expect(paths["/prompts"]?["get"] != nil)
            let greet = try #require(paths["/prompts/greet"]?["post"])
            #expect(greet["description"] == "Greets someone by name")
            #expect(reply.text.contains(#""required":["name"]"#))
            #expect(paths["/echo"]?["post"] != nil)
        }
    }

    @Test(
        "a prompt the server adds later gets its route when the server announces the change",
        arguments: PythonLine.allCases)
    func promptListChanged(line: PythonLine) async throws {
        try await withProxy(["--expose-prompts", "--"] + line.fastMCPServer) { proxy in
            #expect(try await TestHTTP.post(proxy, "/prompts/late", ["topic": "x"]).status == 404)
            #expect(try await TestHTTP.post(proxy, "/add_prompt", ["name": "late"]).status == 200)
            #expect(
                try await pollUntil(within: .seconds(60)) {
                    try await TestHTTP.post(proxy, "/prompts/late", ["topic": "tea"]).status == 200
                })
            let late = try await TestHTTP.post(proxy, "/prompts/late", ["topic": "tea"])
            #expect(late.json?["messages"]?[0]?["content"]?["text"] == "Talk about tea.")
            let document = try await TestHTTP.get(proxy, "/openapi.json")
            #expect(document.json?["paths"]?["/prompts/late"]?["post"] != nil)
        }
    }

    @Test("without the expose settings the documents stay tools-only, and the routes still answer")
    func documentsStayToolsOnly() async throws {
        try await withProxy(["--"] + PythonLine.mcp2.fastMCPServer) { proxy in
            let document = try #require(try await TestHTTP.get(proxy, "/openapi.json").json)
            let paths = document["paths"]?.objectValue?.keys.map { $0 } ?? []
            #expect(!paths.isEmpty)
            #expect(!paths.contains { $0.hasPrefix("/resources") || $0.hasPrefix("/prompts") }, "\(paths)")
            let prompts = try await TestHTTP.get(proxy, "/prompts")
            #expect(prompts.status == 200)
        }
    }

    @Test(
        "config mode over streamable HTTP: per server, in the aggregated document, scoped and audited",
        arguments: PythonLine.allCases)
    func configMode(line: PythonLine) async throws {
        let peer = try RemotePeer.sdk(line, transport: "streamable-http")
        try await withRemotePeer(peer) { peer in
            let folder = try AccountabilityTests.Folder()
            try folder.write(
                """
                {
                  "audit": {"store": "sqlite://\(folder.database)"},
                  "auth": {"apiKeys": [{"name": "ops", "key": "ops-key", "scopes": ["*"]},
                                       {"name": "reader", "key": "reader-key", "scopes": ["notes:read"]}]},
                  "mcpServers": {
                    "notes": {"type": "streamable-http", "url": "\(peer.url("/mcp"))",
                              "exposeResources": true, "exposePrompts": true,
                              "toolScopes": {"resources/*": ["notes:read"], "prompts/*": ["notes:prompt"],
                                             "*": ["notes:tools"]}}
                  }
                }
                """)
            try await withProxy(["--config", folder.config]) { proxy in
                #expect(
                    try await pollUntil(within: .seconds(120)) {
                        try await TestHTTP.get(proxy, "/readyz").json?["servers"]?["notes"]?["state"] == "connected"
                    })
                let ops = AccountabilityTests.bearer("ops-key")
                try await Self.checkRoutes(proxy, prefix: "/notes", headers: ops)

                // The reader's key covers the resources, not the prompts.
                let reader = AccountabilityTests.bearer("reader-key")
                let readme = try await TestHTTP.get(
                    proxy, "/notes/resources/read?uri=fixture%3A%2F%2Fnotes%2Freadme", headers: reader)
                #expect(readme.status == 200)
                let prompt = try await TestHTTP.post(proxy, "/notes/prompts/greet", ["name": "Bo"], headers: reader)
                #expect(prompt.status == 403, "\(prompt.text)")
                #expect(prompt.json?["required_scopes"] == ["notes:prompt"])
                let anonymous = try await TestHTTP.get(proxy, "/notes/prompts")
                #expect(anonymous.status == 401)

                // The aggregated document names them per server; the reader's lists only what it may call.
                let whole = try #require(try await TestHTTP.get(proxy, "/openapi.json", headers: ops).json)
                #expect(whole["paths"]?["/notes/resources/read"]?["get"]?["operationId"] == "notes_resources_read_get")
                #expect(whole["paths"]?["/notes/prompts/greet"]?["post"] != nil)
                let scoped = try #require(try await TestHTTP.get(proxy, "/openapi.json", headers: reader).json)
                #expect(scoped["paths"]?["/notes/resources/read"] != nil)
                #expect(scoped["paths"]?["/notes/prompts/greet"] == nil)

                // Every call is in the audit log under its route's name.
                #expect(
                    try await pollUntil {
                        let records = try await AccountabilityTests.records(folder, ["--tool", "prompts/greet"])
                        return records.contains { $0["caller"] == "reader" && $0["status"] == 403 }
                    })
                let reads = try await AccountabilityTests.records(folder, ["--tool", "resources/read"])
                #expect(reads.contains { $0["status"] == 404 && $0["outcome"] == "invalid_arguments" })
                #expect(reads.contains { $0["caller"] == "reader" && $0["status"] == 200 })
            }
        }
    }
}

/// The questions a server asks its client: `roots/list` answered with the entry's `roots`, sampling declined.
@Suite("a server's questions to the proxy")
struct ServerQuestionsTests {
    @Test("roots/list answers the configured roots; sampling is declined, saying why", arguments: PythonLine.allCases)
    func rootsAndSampling(line: PythonLine) async throws {
        let peer = try RemotePeer.sdk(line, transport: "streamable-http")
        try await withRemotePeer(peer) { peer in
            let folder = try AccountabilityTests.Folder()
            let server = line.fastMCPServer
            try folder.write(
                """
                {"mcpServers": {
                  "local": {"command": "\(server[0])", "args": ["\(server[1])"],
                            "roots": [{"uri": "file:///srv/data", "name": "data"}, {"uri": "file:///tmp"}]},
                  "remote": {"type": "streamable-http", "url": "\(peer.url("/mcp"))",
                             "roots": [{"uri": "file:///home/remote"}]},
                  "bare": {"command": "\(server[0])", "args": ["\(server[1])"]}
                }}
                """)
            try await withProxy(["--config", folder.config]) { proxy in
                #expect(
                    try await pollUntil(within: .seconds(120)) {
                        let servers = try await TestHTTP.get(proxy, "/readyz").json?["servers"]
                        return ["local", "remote", "bare"].allSatisfy { servers?[$0]?["state"] == "connected" }
                    })
                let local = try await TestHTTP.post(proxy, "/local/client_roots")
                #expect(local.status == 200, "\(local.text)")
                #expect(
                    local.json == [["uri": "file:///srv/data", "name": "data"], ["uri": "file:///tmp", "name": nil]])
                let remote = try await TestHTTP.post(proxy, "/remote/client_roots")
                switch line {
                case .mcp1:
                    #expect(remote.json == [["uri": "file:///home/remote", "name": nil]], "\(remote.text)")
                case .mcp2:
                    // The proxy speaks 2026-07-28 to it: requests to the client travel as input_required results
                    // there, and the SDK's list_roots refuses to ask over this transport.
                    #expect(remote.json?.stringValue?.contains("no back-channel") == true, "\(remote.text)")
                }
                // Without roots the proxy declares none; the SDK or the proxy refuses.
                let bare = try await TestHTTP.post(proxy, "/bare/client_roots")
                #expect(
                    bare.json == "refused: The proxy offers no roots for this server (none configured)", "\(bare.text)")
                let sampled = try await TestHTTP.post(proxy, "/local/ask_model", ["question": "2+2?"])
                let refusal =
                    "refused: The proxy does not sample: it has no language model of its own to answer "
                    + "sampling/createMessage"
                #expect(sampled.json?.stringValue == refusal, "\(sampled.text)")
                if line == .mcp2 {
                    // The SDK's resolvers: a roots/list request mid-call over stdio (2025-11-25), an input_required
                    // result the proxy answers and retries over stateless HTTP (2026-07-28).
                    let resolvedLocal = try await TestHTTP.post(proxy, "/local/resolved_roots")
                    #expect(resolvedLocal.json?[0]?["uri"] == "file:///srv/data", "\(resolvedLocal.text)")
                    let resolvedRemote = try await TestHTTP.post(proxy, "/remote/resolved_roots")
                    #expect(
                        resolvedRemote.json == [["uri": "file:///home/remote", "name": nil]], "\(resolvedRemote.text)")
                    // Without roots the proxy declares none, and the server says it needs them.
                    let resolvedBare = try await TestHTTP.post(proxy, "/bare/resolved_roots")
                    #expect(resolvedBare.status >= 400, "\(resolvedBare.text)")
                }
            }
        }
    }
}
