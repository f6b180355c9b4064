/// Everything the HTTP face needs to know, independent of where it came from (flags, environment, files).
public struct ProxySettings: Sendable {
    public var host: String = "0.0.0.0"
    public var port: Int = 8000
    /// Any of these keys is accepted (named `cli`, every scope); empty means no authentication unless `auth` says.
    public var apiKeys: [String] = []
    /// Who may call (single-server mode: `--auth-config`; config mode: the file's `auth`, read at start).
    public var auth: AuthConfig?
    /// The audit log (single-server mode: `--audit`; config mode: the file's `audit`, read at start).
    public var audit: AuditSettings?
    /// The store replicas share (`--store`, `MCPO_STORE`; config `store` wins over them).
    public var store: StoreLocation?
    /// Connections a PostgreSQL store keeps at most.
    public var storePoolSize = 4
    /// `MCPO_STORE_KEY`: seals OAuth secrets in a shared store (config `storeKeyFile` wins over it).
    public var storeKey: StoreKey?
    /// Metrics at `/metrics` (`--no-metrics` turns them off).
    public var metrics = true
    /// Text lines (the default) or one JSON object per line (`--log-format`, config `logFormat`).
    public var logFormat: LogFormat = .text
    /// Protect every route, documents included, and accept Basic `any:<key>` too.
    public var strictAuth: Bool = false
    public var corsAllowOrigins: [String] = ["*"]
    /// Overrides of the document's `info`; nil keeps what the server reports (single-server mode).
    public var title: String?
    public var description: String?
    public var version: String?
    public var rootPath: String = ""
    public var pathPrefix: String = "/"
    public var tls: TLSFiles?
    /// Folder with swagger-ui-bundle.js, swagger-ui.css and redoc.standalone.js; nil loads them from a CDN.
    public var docsAssetsDirectory: String?
    public var maxRequestBodyBytes: Int = 16 * 1024 * 1024
    /// Default bound on one tool call.
    public var callTimeoutSeconds: Double = 300
    /// The most a caller may ask for with the `X-MCPO-Timeout` header.
    public var maxCallTimeoutSeconds: Double = 3600
    /// Calls of one server running at once; more wait in a queue of `maxQueuedCalls`, beyond that 503.
    public var maxConcurrentCalls: Int = 128
    public var maxQueuedCalls: Int = 1024
    /// The largest message accepted from a stdio server; a larger answer fails its call with 502.
    public var maxResponseBytes: Int = 64 * 1024 * 1024
    /// Binaries in answers larger than this are linked (`/files/<id>`) instead of inlined (`--inline-binary-limit`).
    public var inlineBinaryLimit: Int = 1 << 20
    /// Seconds a linked binary stays readable (`--file-ttl`).
    public var fileTTLSeconds: Double = 600
    /// Seconds a server's question waits for the caller's answer (`--elicitation-timeout`).
    public var elicitationTimeoutSeconds: Double = 300
    /// Bound on connecting to a server (spawn or connect, then the handshake and the first tools/list).
    public var startupTimeoutSeconds: Double = 60
    /// How long SIGINT/SIGTERM waits for calls in flight before stopping.
    public var shutdownGraceSeconds: Double = 10
    /// What a client connection may take and how many may be open.
    public var clientBounds = ClientConnectionBounds()
    /// Whether a request's task prefers its connection's event loop (off when tasks run on Swift's own pool).
    public var requestTasksOnConnectionLoops = true

    public init() {}
}

public struct TLSFiles: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// Bounds on client connections, as nginx has them (`client_header_timeout`, `client_body_timeout`,
/// `keepalive_timeout`, `worker_connections`): a client that never finishes a request cannot hold its
/// connection, nor can many of them exhaust the process's descriptors.
public struct ClientConnectionBounds: Sendable, Equatable {
    /// Seconds a request head may take to arrive, from the connection's start or the request's first byte.
    public var headSeconds: Double = 30
    /// Seconds a request body may pause between two reads.
    public var bodySeconds: Double = 30
    /// Seconds a kept-alive connection may wait for its next request.
    public var idleSeconds: Double = 75
    /// Client connections open at once; beyond it new ones wait (unaccepted) until one closes.
    public var maxConnections: Int = 10_000

    public init() {}
}
