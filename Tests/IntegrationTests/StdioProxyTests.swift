import Foundation
import JSONValue
import Testing

/// The whole path over stdio against the official Python SDK: OpenAPI, calls, results, errors.
@Suite("stdio proxy against the Python SDK")
struct StdioProxyTests {
    @Test("the document validates and keeps the schema whole", arguments: PythonLine.allCases)
    func documentValidates(line: PythonLine) async throws {
        try await withProxy(["--"] + line.fastMCPServer) { proxy in
            let reply = try await TestHTTP.get(proxy, "/openapi.json")
            #expect(reply.status == 200)
            let validation = try await OpenAPIValidator.validate(reply.body)
            #expect(validation.valid, "\(validation.output)")
            let document = try #require(reply.json)
            #expect(document["openapi"] == "3.1.0")
            #expect(document["info"]?["title"]?.stringValue?.hasPrefix("fixture-") == true)
            let operation = try #require(document["paths"]?["/create_order"]?["post"])
            #expect(operation["operationId"] == "tool_create_order_post")
            #expect(operation["summary"] == "Create Order")
            // The enum of priority and the minimum of qty survive (mcpo drops both).
            let text = reply.text
            #expect(text.contains(#""enum":["low","normal","high"]"#))
            #expect(text.contains(#""minimum":1"#))
            // Every local reference resolves inside the document.
            for reference in references(in: document) where reference.hasPrefix("#/") {
                #expect(resolve(reference, in: document) != nil, "dangling \(reference)")
            }
        }
    }

    @Test("calls with nested objects, enums, recursion, images and structured results", arguments: PythonLine.allCases)
    func calls(line: PythonLine) async throws {
        try await withProxy(["--"] + line.fastMCPServer) { proxy in
            let echo = try await TestHTTP.post(proxy, "/echo", ["text": "hello"])
            #expect(echo.status == 200)
            #expect(echo.json == "hello")
            #expect(echo.header("content-type") == "application/json")

            let add = try await TestHTTP.post(proxy, "/add", ["a": 40, "b": "2"])
            #expect(add.status == 200)
            #expect(add.json == 42)

            let order = try await TestHTTP.post(
                proxy, "/create_order",
                [
                    "customer": "ada", "priority": "high", "items": [["sku": "A1", "qty": 2]],
                    "address": ["street": "1 Main", "city": "Paris"], "unknown": "dropped",
                ])
            #expect(order.status == 200, "\(order.text)")
            let received = try #require(order.json)
            #expect(received["customer"] == "ada")
            #expect(received["items"]?[0]?["qty"] == 2)
            #expect(received["address"]?["city"] == "Paris")

            let tree = try await TestHTTP.post(
                proxy, "/tree_size",
                ["root": ["name": "a", "children": [["name": "b", "children": [["name": "c"]]], ["name": "d"]]]])
            #expect(tree.status == 200, "\(tree.text)")
            #expect(tree.json == 4)

            let pixel = try await TestHTTP.post(proxy, "/pixel")
            #expect(pixel.status == 200)
            #expect(pixel.json?.stringValue?.hasPrefix("data:image/png;base64,iVBOR") == true)

            let jsonText = try await TestHTTP.post(proxy, "/json_text")
            #expect(jsonText.json == ["parsed": true, "n": 3])

            let structured = try await TestHTTP.post(proxy, "/structured", ["city": "Oslo"])
            #expect(structured.status == 200, "\(structured.text)")
            #expect(structured.json?["conditions"] != nil)
            #expect(structured.json?["temperature"] != nil)
        }
    }

    @Test("validation errors are 422 in FastAPI's shape and nothing is sent upstream")
    func validation() async throws {
        try await withProxy(["--"] + PythonLine.mcp1.fastMCPServer) { proxy in
            let missing = try await TestHTTP.post(proxy, "/echo", [:])
            #expect(missing.status == 422)
            #expect(missing.json?["detail"]?[0]?["type"] == "missing")
            #expect(missing.json?["detail"]?[0]?["loc"] == ["body", "text"])

            let noBody = try await TestHTTP.post(proxy, "/echo")
            #expect(noBody.status == 422)
            #expect(noBody.json?["detail"]?[0]?["loc"] == ["body"])

            let badJSON = try await TestHTTP.request(.POST, proxy.baseURL + "/echo", body: Array(#"{"text": }"#.utf8))
            #expect(badJSON.status == 422)
            #expect(badJSON.json?["detail"]?[0]?["type"] == "json_invalid")

            let badEnum = try await TestHTTP.post(
                proxy, "/create_order",
                ["customer": "x", "priority": "urgent", "items": [], "address": ["street": "s", "city": "c"]])
            #expect(badEnum.status == 422)
            #expect(badEnum.json?["detail"]?[0]?["loc"] == ["body", "priority"])

            let badRange = try await TestHTTP.post(
                proxy, "/create_order",
                [
                    "customer": "x", "priority": "low", "items": [["sku": "a", "qty": 0]],
                    "address": ["street": "s", "city": "c"],
                ])
            #expect(badRange.status == 422)
            #expect(badRange.json?["detail"]?[0]?["loc"] == ["body", "items", 0, "qty"])

            let badType = try await TestHTTP.post(proxy, "/add", ["a": "x", "b": 1])
            #expect(badType.status == 422)
            #expect(badType.json?["detail"]?[0]?["loc"] == ["body", "a"])

            // A tool whose parameters are all optional takes an empty body.
            let optional = try await TestHTTP.post(proxy, "/explode")
            #expect(optional.status == 500)
        }
    }

    @Test("tool errors, JSON-RPC errors and routing errors map to the documented statuses")
    func errorMapping() async throws {
        try await withProxy(["--"] + PythonLine.lowLevelServer) { proxy in
            let cases: [(code: Int, status: Int)] = [
                (-32700, 400), (-32600, 400), (-32601, 404), (-32602, 422), (-32603, 500), (-32001, 500),
            ]
            for (code, status) in cases {
                let reply = try await TestHTTP.post(
                    proxy, "/rpc_error", ["code": .int(code), "message": .string("boom \(code)"), "with_data": true])
                #expect(reply.status == status, "code \(code): \(reply.text)")
                #expect(reply.json?["detail"]?["message"] == .string("boom \(code)"))
                #expect(reply.json?["detail"]?["data"] == ["field": "x"])
            }
            let noData = try await TestHTTP.post(
                proxy, "/rpc_error", ["code": -32602, "message": "plain", "with_data": false])
            #expect(noData.json == ["detail": ["message": "plain"]])

            let isError = try await TestHTTP.post(proxy, "/is_error_text")
            #expect(isError.status == 500)
            #expect(isError.json?["detail"]?["message"] == "the tool failed: bad input")

            let structuredOnly = try await TestHTTP.post(proxy, "/structured_only")
            #expect(structuredOnly.json == ["a": 1])

            let mixed = try await TestHTTP.post(proxy, "/mixed_content")
            #expect(mixed.status == 200)
            let items = try #require(mixed.json?.arrayValue)
            #expect(items.count == 6, "\(mixed.text)")
            #expect(items.contains { $0.stringValue?.hasPrefix("data:image/png;base64,") == true })
            #expect(items.contains { $0.stringValue?.hasPrefix("data:audio/") == true })
            #expect(items.contains { $0["uri"] != nil && $0["name"] != nil })

            let unknown = try await TestHTTP.get(proxy, "/nope")
            #expect(unknown.status == 404)
            #expect(unknown.json == ["detail": "Not Found"])

            let wrongMethod = try await TestHTTP.get(proxy, "/is_error_text")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("allow") == "POST")

            let slash = try await TestHTTP.post(proxy, "/is_error_text/")
            #expect(slash.status == 307)
            #expect(slash.header("location") == "/is_error_text")
        }
    }

    @Test("zod-style #/properties references and paginated tools/list")
    func zodReferencesAndPagination() async throws {
        try await withProxy(["--"] + PythonLine.lowLevelServer) { proxy in
            let document = try await TestHTTP.get(proxy, "/openapi.json")
            let validation = try await OpenAPIValidator.validate(document.body)
            #expect(validation.valid, "\(validation.output)")
            let paths = try #require(document.json?["paths"]?.objectValue)
            // The low-level fixture pages its tools three at a time; every page must be served.
            for tool in ["rpc_error", "mixed_content", "is_error_text", "structured_only", "zod_refs"] {
                #expect(paths["/\(tool)"] != nil, "missing /\(tool)")
            }
            let reply = try await TestHTTP.post(
                proxy, "/zod_refs", ["from": ["email": "a@x.org"], "to": ["email": "b@x.org"]])
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json?["to"]?["email"] == "b@x.org")
            let invalid = try await TestHTTP.post(proxy, "/zod_refs", ["from": ["email": "a@x.org"], "to": [:]])
            #expect(invalid.status == 422)
            #expect(invalid.json?["detail"]?[0]?["loc"] == ["body", "to", "email"])
        }
    }
}

/// Every `$ref` value in a JSON tree.
func references(in json: JSON) -> [String] {
    switch json {
    case .object(let object):
        var found: [String] = []
        for (key, value) in object {
            if key == "$ref", let text = value.stringValue {
                found.append(text)
            } else {
                found += references(in: value)
            }
        }
        return found
    case .array(let array):
        return array.flatMap(references(in:))
    default:
        return []
    }
}

/// Follows a local JSON pointer such as `#/components/schemas/X`.
func resolve(_ reference: String, in document: JSON) -> JSON? {
    var current: JSON? = document
    for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
        let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        if let index = Int(key), let array = current?.arrayValue {
            current = index < array.count ? array[index] : nil
        } else {
            current = current?[key]
        }
    }
    return current
}
