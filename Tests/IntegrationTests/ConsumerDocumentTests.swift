import Foundation
import JSONValue
import TestSupport
import Testing

/// The documents every consumer reads: 3.1 and 3.0.3, absolute `servers`, validated by openapi-spec-validator.
@Suite("documents for every consumer")
struct ConsumerDocumentTests {
    /// The references left in the operations' bodies and answers.
    static func bodyReferences(_ document: JSON) -> [String] {
        var found: [String] = []
        func walk(_ node: JSON) {
            switch node {
            case .object(let object):
                if let reference = object["$ref"]?.stringValue { found.append(reference) }
                object.values.forEach(walk)
            case .array(let items):
                items.forEach(walk)
            default:
                break
            }
        }
        walk(document["paths"] ?? [:])
        return found
    }

    @Test(
        "single-server mode: /openapi-3.0.json validates as 3.0, inlines bodies, and names the proxy absolutely",
        arguments: PythonLine.allCases)
    func singleServer(line: PythonLine) async throws {
        try await withProxy(["--expose-resources", "--expose-prompts", "--"] + line.fastMCPServer) { proxy in
            let reply = try await TestHTTP.get(proxy, "/openapi-3.0.json")
            #expect(reply.status == 200)
            let validation = try await OpenAPIValidator.validate(reply.body)
            #expect(validation.valid, "\(validation.output)")
            let document = try #require(reply.json)
            #expect(document["openapi"] == "3.0.3")
            #expect(document["servers"] == [["url": .string(proxy.baseURL)]])
            // Only the recursive models (tree_size's Node) stay references, each to a component that is there.
            let references = Self.bodyReferences(document)
            let components = document["components"]?["schemas"]?.objectValue?.keys.map { $0 } ?? []
            for reference in references {
                #expect(components.contains { reference == "#/components/schemas/" + $0 }, "\(reference)")
            }
            #expect(references.allSatisfy { $0.lowercased().contains("node") }, "\(references)")
            #expect(!reply.text.contains(#""type":["#), "no type lists in 3.0")
            let order = document["paths"]?["/create_order"]?["post"]?["requestBody"]?["content"]?["application/json"]?[
                "schema"]
            #expect(order?["properties"]?["priority"]?["enum"] == ["low", "normal", "high"])
            #expect(document["paths"]?["/resources/read"]?["get"] != nil)

            let compact = try await TestHTTP.get(proxy, "/openapi-3.0.json?profile=compact")
            #expect(try await OpenAPIValidator.validate(compact.body).valid)
            #expect(compact.json?["paths"]?["/echo"] != nil)

            let document31 = try await TestHTTP.get(proxy, "/openapi.json")
            #expect(document31.json?["openapi"] == "3.1.0")
            #expect(document31.json?["servers"] == [["url": .string(proxy.baseURL)]])
        }
    }

    @Test("config mode: the aggregated 3.0 document validates, with every server's tools")
    func aggregated() async throws {
        let folder = try AccountabilityTests.Folder()
        let one = PythonLine.mcp1.fastMCPServer
        let two = PythonLine.mcp2.fastMCPServer
        try folder.write(
            """
            {"mcpServers": {"one": {"command": "\(one[0])", "args": ["\(one[1])"]},
                            "two": {"command": "\(two[0])", "args": ["\(two[1])"], "exposePrompts": true}}}
            """)
        try await withProxy(["--config", folder.config]) { proxy in
            #expect(
                try await pollUntil(within: .seconds(120)) {
                    let servers = try await TestHTTP.get(proxy, "/readyz").json?["servers"]
                    return servers?["one"]?["state"] == "connected" && servers?["two"]?["state"] == "connected"
                })
            let reply = try await TestHTTP.get(proxy, "/openapi-3.0.json")
            let validation = try await OpenAPIValidator.validate(reply.body)
            #expect(validation.valid, "\(validation.output)")
            let paths = reply.json?["paths"]
            #expect(paths?["/one/echo"]?["post"]?["operationId"] == "tool_one_echo_post")
            #expect(paths?["/two/prompts/greet"]?["post"]?["operationId"] == "two_prompt_greet_post")
            let perServer = try await TestHTTP.get(proxy, "/two/openapi-3.0.json")
            #expect(try await OpenAPIValidator.validate(perServer.body).valid)
        }
    }
}
