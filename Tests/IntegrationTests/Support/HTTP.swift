import AsyncHTTPClient
import Foundation
import JSONValue
import NIOCore
import NIOHTTP1
import NIOSSL

/// A real HTTP answer, body kept whole.
struct HTTPReply: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSON? { try? JSON.parse(body) }

    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// One shared client for the tests, with a pool large enough for the concurrency tests and no
/// certificate check (the TLS test uses a self-signed certificate).
enum TestHTTP {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 128
        configuration.redirectConfiguration = .disallow
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        configuration.tlsConfiguration = tls
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static func request(
        _ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, headers: [(String, String)] = [],
        timeout: TimeAmount = .seconds(60)
    ) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if !request.headers.contains(name: "content-type") {
                request.headers.add(name: "content-type", value: "application/json")
            }
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return HTTPReply(
            status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    static func post(
        _ proxy: ProxyProcess, _ path: String, _ json: JSON? = nil, headers: [(String, String)] = [],
        timeout: TimeAmount = .seconds(60)
    ) async throws -> HTTPReply {
        try await request(.POST, proxy.baseURL + path, body: json?.bytes, headers: headers, timeout: timeout)
    }

    static func get(_ proxy: ProxyProcess, _ path: String, headers: [(String, String)] = []) async throws
        -> HTTPReply
    {
        try await request(.GET, proxy.baseURL + path, headers: headers)
    }
}

/// Runs the OpenAPI validator from the Python test environment over a document.
enum OpenAPIValidator {
    static func validate(_ document: [UInt8]) async throws -> (valid: Bool, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).json")
        try Data(document).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let outcome = try await ProcessRunner.run(
            TestPaths.python(.mcp1),
            [
                "-c",
                "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
                file.path,
            ])
        return (outcome.status == 0, outcome.output)
    }
}
