// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "swift-mcpo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mcpo", targets: ["mcpo"]),
        .executable(name: "mcp-example-server", targets: ["mcp-example-server"]),
        .executable(name: "mcp-bench-server", targets: ["mcp-bench-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", exact: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", exact: "1.0.0"),
    ],
    targets: [
        // One order-preserving JSON value type shared by every layer.
        .target(
            name: "JSONValue",
            dependencies: [.product(name: "OrderedCollections", package: "swift-collections")],
            swiftSettings: strict
        ),
        // Operating-system helpers every layer may use: threads, the UTC clock as text, resource limits.
        .target(name: "MCPOSystem", swiftSettings: strict),
        // Layer 1: what to serve and how (CLI-independent settings, server specs, config files).
        .target(
            name: "MCPOConfig",
            dependencies: ["JSONValue", "MCPOSystem", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // posix_spawn's chdir action, hidden from Swift behind _GNU_SOURCE.
        .target(name: "CSpawnShim"),
        // The Swift runtime's global-executor hook, which a statically linked executable cannot look up.
        .target(name: "CConcurrencyHook"),
        // Layer 2: our MCP client (JSON-RPC 2.0, transports, process supervision).
        .target(
            name: "MCPClient",
            dependencies: [
                "JSONValue", "MCPOConfig", "MCPOSystem", "CSpawnShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Layer 3: pure translation between MCP and OpenAPI/REST; no I/O.
        .target(
            name: "MCPBridge",
            dependencies: ["JSONValue", "MCPOConfig"],
            swiftSettings: strict
        ),
        // OAuth 2.1 client toward protected MCP servers: discovery, registration, authorization, tokens,
        // storage, multi-user session tokens, the loopback callback listener.
        .target(
            name: "MCPOAuth",
            dependencies: [
                "JSONValue", "MCPOConfig",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Who calls: API keys, JWTs verified against their issuers' JWKS (jwt-kit), Open WebUI's user header, scopes.
        .target(
            name: "MCPOIdentity",
            dependencies: [
                "JSONValue", "MCPOConfig", "MCPOAuth",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The audit log and the pinned tool definitions: one store protocol, SQLite (sqlite-nio) or PostgreSQL
        // (postgres-nio) behind it.
        .target(
            name: "MCPOAudit",
            dependencies: [
                "JSONValue", "MCPOConfig", "MCPOAuth",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Layer 4: the HTTP face (routes, auth, CORS, docs, TLS).
        .target(
            name: "MCPOHTTP",
            dependencies: [
                "JSONValue", "MCPOConfig", "MCPOSystem", "MCPClient", "MCPBridge", "MCPOAuth", "MCPOIdentity",
                "MCPOAudit",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Layer 5: the command line, mcpo-compatible.
        .target(
            name: "MCPOCommand",
            dependencies: [
                "JSONValue", "MCPOConfig", "MCPOSystem", "MCPClient", "MCPOHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mcpo",
            dependencies: [
                "MCPOCommand", "CConcurrencyHook",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // A real stdio MCP server with a few useful tools, for README's first command and the tests.
        .executableTarget(name: "mcp-example-server", dependencies: ["JSONValue"], swiftSettings: strict),
        // The benchmark's stub MCP server (stdio and streamable HTTP), built to never be the bottleneck.
        .executableTarget(
            name: "mcp-bench-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "JSONValueTests", dependencies: ["JSONValue"], swiftSettings: strict),
        .testTarget(name: "MCPOConfigTests", dependencies: ["MCPOConfig", "JSONValue"], swiftSettings: strict),
        .testTarget(
            name: "MCPClientTests",
            dependencies: [
                "MCPClient", "JSONValue", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // Helpers shared by test targets: the Python OAuth fixture (authorization + protected MCP server), HTTP.
        .target(
            name: "TestSupport",
            dependencies: [
                "JSONValue", "MCPOAudit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MCPOAuthTests",
            dependencies: [
                "MCPOAuth", "JSONValue", "MCPOConfig", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MCPBridgeTests", dependencies: ["MCPBridge", "JSONValue", "MCPOConfig"], swiftSettings: strict),
        // The audit store (a real SQLite file), the writer's batching, loss and recovery, times and cursors.
        .testTarget(
            name: "MCPOAuditTests",
            dependencies: [
                "MCPOAudit", "MCPOConfig", "JSONValue", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // Identities: scopes and globs, keys, templates and the key cache's rules without I/O; tokens verified against
        // the identity provider fixture over real HTTP.
        .testTarget(
            name: "MCPOIdentityTests",
            dependencies: [
                "MCPOIdentity", "MCPOConfig", "MCPOAuth", "JSONValue", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The HTTP face in process: routes, authentication, CORS, every failure's answer, the call stages, progress
        // streams, and the client connection handler in NIO's testing channel.
        .testTarget(
            name: "MCPOHTTPTests",
            dependencies: [
                "MCPOHTTP", "MCPClient", "MCPBridge", "MCPOConfig", "JSONValue", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "JSONValue", "TestSupport", "MCPOSystem", "MCPOAudit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
    ]
)
