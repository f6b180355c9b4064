import Crypto
import Foundation
import JSONValue
import Logging
import MCPOAuth
import MCPOConfig
import NIOCore
import PostgresNIO
import Synchronization

/// The OAuth state of every replica in the PostgreSQL store: tokens of every user and of the proxy, client
/// registrations, authorization requests waiting for their callback, and shared secrets (the session signing key),
/// each sealed with the store key (AES-256-GCM) so the database never holds them readable. A refresh runs under a
/// transaction-scoped advisory lock of its server and user; saved and deleted tokens are announced on the channel
/// `mcpo_oauth` (LISTEN/NOTIFY), which each replica follows to drop what it holds.
public final class PostgresOAuthState: SharedOAuthState {
    private let store: PostgresStore
    private let sealer: SecretSealer
    /// Tells this replica's announcements from the others'.
    private let origin = UUID().uuidString
    private let listeners = Mutex<[UUID: AsyncStream<TokenChange>.Continuation]>([:])
    private let listening = Mutex<Task<Void, Never>?>(nil)
    static let channel = "mcpo_oauth"
    /// A refresh waits at most this long for another replica's (whose own requests are bounded too).
    static let lockWait = "60s"

    public init(store: PostgresStore, key: StoreKey) {
        self.store = store
        self.sealer = SecretSealer(key)
    }

    deinit {
        listening.withLock { $0 }?.cancel()
    }

    private var logger: Logger { store.logger }

    private static func userKey(_ user: String?) -> String {
        user.map { "u:" + $0 } ?? ""
    }

    private static func stateHash(_ state: String) -> String {
        SHA256.hash(data: Array(state.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private func run(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) async throws(OAuthError)
        -> [PostgresRow]
    {
        do {
            return try await store.run(PostgresStore.query(sql, binds))
        } catch {
            throw .storage(error.description)
        }
    }

    private func seal(_ json: JSON, for place: String) throws(OAuthError) -> ByteBuffer {
        do {
            return ByteBuffer(bytes: try sealer.seal(json.bytes, for: place))
        } catch {
            throw .storage(error.description)
        }
    }

    private func open(_ buffer: ByteBuffer, for place: String) throws(OAuthError) -> JSON {
        do {
            let plain = try sealer.open(Array(buffer.readableBytesView), for: place)
            return try JSON.parse(plain)
        } catch let error as AuditError {
            throw .storage(error.description)
        } catch {
            throw .storage("a sealed value in the store is not JSON")
        }
    }

    // MARK: - Tokens and registrations

    public func loadTokens(server: String, user: String?) async throws(OAuthError) -> OAuthTokens? {
        let key = Self.userKey(user)
        var binds = PostgresBindings()
        binds.append(server)
        binds.append(key)
        let rows = try await run("SELECT sealed FROM oauth_tokens WHERE server = $1 AND user_key = $2", binds)
        guard let sealed = try? rows.first?.decode(ByteBuffer.self) else { return nil }
        return OAuthTokens(json: try open(sealed, for: "tokens/\(server)/\(key)"))
    }

    public func saveTokens(_ tokens: OAuthTokens, server: String, user: String?) async throws(OAuthError) {
        let key = Self.userKey(user)
        var binds = PostgresBindings()
        binds.append(server)
        binds.append(key)
        binds.append(try seal(tokens.json, for: "tokens/\(server)/\(key)"))
        binds.append(Int64(Date().timeIntervalSince1970 * 1000))
        binds.append(announcement(server: server, user: user))
        try await run(
            "WITH saved AS (INSERT INTO oauth_tokens (server, user_key, sealed, updated_ms) VALUES ($1, $2, $3, $4) "
                + "ON CONFLICT (server, user_key) DO UPDATE SET sealed = EXCLUDED.sealed, updated_ms = EXCLUDED.updated_ms "
                + "RETURNING 1) SELECT pg_notify('\(Self.channel)', $5) FROM saved", binds)
    }

    public func deleteTokens(server: String, user: String?) async throws(OAuthError) {
        var binds = PostgresBindings()
        binds.append(server)
        binds.append(Self.userKey(user))
        binds.append(announcement(server: server, user: user))
        try await run(
            "WITH gone AS (DELETE FROM oauth_tokens WHERE server = $1 AND user_key = $2 RETURNING 1) "
                + "SELECT pg_notify('\(Self.channel)', $3) FROM gone", binds)
    }

    public func loadClients(server: String) async throws(OAuthError) -> [ClientRegistration] {
        var binds = PostgresBindings()
        binds.append(server)
        let rows = try await run("SELECT sealed FROM oauth_clients WHERE server = $1", binds)
        guard let sealed = try? rows.first?.decode(ByteBuffer.self) else { return [] }
        let json = try open(sealed, for: "clients/\(server)")
        return (json["clients"]?.arrayValue ?? []).compactMap(ClientRegistration.init(json:))
    }

    public func saveClients(_ clients: [ClientRegistration], server: String) async throws(OAuthError) {
        var binds = PostgresBindings()
        binds.append(server)
        binds.append(try seal(["clients": .array(clients.map(\.json))], for: "clients/\(server)"))
        try await run(
            "INSERT INTO oauth_clients (server, sealed) VALUES ($1, $2) "
                + "ON CONFLICT (server) DO UPDATE SET sealed = EXCLUDED.sealed", binds)
    }

    // MARK: - Authorization requests

    public func savePending(_ pending: PendingAuthorization, server: String) async throws(OAuthError) {
        let hash = Self.stateHash(pending.state)
        var binds = PostgresBindings()
        binds.append(hash)
        binds.append(server)
        binds.append(try seal(pending.json, for: "pending/\(server)/\(hash)"))
        binds.append(Int64(pending.expiresAt.timeIntervalSince1970 * 1000))
        binds.append(Int64(Date().timeIntervalSince1970 * 1000))
        // Requests nobody completed go as new ones come.
        try await run(
            "WITH expired AS (DELETE FROM oauth_pending WHERE expires_ms < $5) "
                + "INSERT INTO oauth_pending (state_hash, server, sealed, expires_ms) VALUES ($1, $2, $3, $4) "
                + "ON CONFLICT (state_hash) DO NOTHING", binds)
    }

    public func takePending(state: String, server: String) async throws(OAuthError) -> PendingAuthorization? {
        let hash = Self.stateHash(state)
        var binds = PostgresBindings()
        binds.append(hash)
        binds.append(server)
        let rows = try await run(
            "DELETE FROM oauth_pending WHERE state_hash = $1 AND server = $2 RETURNING sealed", binds)
        guard let sealed = try? rows.first?.decode(ByteBuffer.self) else { return nil }
        return PendingAuthorization(json: try open(sealed, for: "pending/\(server)/\(hash)"))
    }

    // MARK: - Device authorizations under way

    public func devicePrompt(server: String, user: String?) async throws(OAuthError) -> AuthorizationPrompt? {
        let key = Self.userKey(user)
        var binds = PostgresBindings()
        binds.append(server)
        binds.append(key)
        binds.append(Int64(Date().timeIntervalSince1970 * 1000))
        let rows = try await run(
            "SELECT sealed FROM oauth_device WHERE server = $1 AND user_key = $2 AND expires_ms > $3", binds)
        guard let sealed = try? rows.first?.decode(ByteBuffer.self) else { return nil }
        return AuthorizationPrompt(json: try open(sealed, for: "device/\(server)/\(key)"))
    }

    public func saveDevicePrompt(_ prompt: AuthorizationPrompt?, server: String, user: String?) async throws(OAuthError)
    {
        let key = Self.userKey(user)
        var binds = PostgresBindings()
        binds.append(server)
        binds.append(key)
        guard let prompt else {
            try await run("DELETE FROM oauth_device WHERE server = $1 AND user_key = $2", binds)
            return
        }
        binds.append(try seal(prompt.json, for: "device/\(server)/\(key)"))
        binds.append(Int64(prompt.expiresAt.timeIntervalSince1970 * 1000))
        try await run(
            "INSERT INTO oauth_device (server, user_key, sealed, expires_ms) VALUES ($1, $2, $3, $4) "
                + "ON CONFLICT (server, user_key) DO UPDATE SET sealed = EXCLUDED.sealed, expires_ms = EXCLUDED.expires_ms",
            binds)
    }

    // MARK: - The refresh lock

    public func exclusively<T: Sendable>(
        _ lock: OAuthLock, _ body: @Sendable () async throws(OAuthError) -> T
    ) async throws(OAuthError) -> T {
        let lockName = lock.description
        let logger = self.logger
        do {
            return try await store.client.withTransaction(logger: logger) { connection -> T in
                _ = try await connection.query("SET LOCAL lock_timeout = '\(unescaped: Self.lockWait)'", logger: logger)
                _ = try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\(lockName), 0))", logger: logger)
                return try await body()
            }
        } catch {
            // What the body threw comes out as it was; the rest is PostgreSQL's.
            if let failure = (error as? PostgresTransactionError)?.closureError as? OAuthError ?? error as? OAuthError {
                throw failure
            }
            throw .storage("the store cannot take the lock \(lockName): \(PostgresStore.reason(of: error))")
        }
    }

    // MARK: - Announcements

    private func announcement(server: String, user: String?) -> String {
        var object: OrderedJSONObject = ["server": .string(server), "origin": .string(origin)]
        if let user { object["user"] = .string(user) }
        return JSON.object(object).text
    }

    public func tokenChanges() -> AsyncStream<TokenChange> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: TokenChange.self, bufferingPolicy: .bufferingNewest(1000))
        let id = UUID()
        listeners.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.listeners.withLock { $0.removeValue(forKey: id) } }
        startListening()
        return stream
    }

    /// One connection of the pool follows the channel for as long as the store is open, coming back (after 1 s,
    /// doubling to 30 s) when PostgreSQL goes away.
    private func startListening() {
        listening.withLock { task in
            guard task == nil else { return }
            task = Task { [weak self] in
                var pause = Duration.seconds(1)
                while !Task.isCancelled {
                    guard let self else { return }
                    do {
                        try await self.store.client.withConnection { connection in
                            try await connection.listen(on: Self.channel) { notifications in
                                pause = .seconds(1)
                                // What changed before this point was not announced to this replica: read it all.
                                self.broadcast(.everything)
                                for try await notification in notifications { self.deliver(notification.payload) }
                            }
                        }
                    } catch {
                        if Task.isCancelled { return }
                        self.logger.debug("the store's announcements stopped: \(error); listening again")
                    }
                    try? await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(30))
                }
            }
        }
    }

    private func deliver(_ payload: String) {
        guard let json = try? JSON.parse(Array(payload.utf8)), let server = json["server"]?.stringValue,
            json["origin"]?.stringValue != origin
        else { return }
        broadcast(TokenChange(server: server, user: json["user"]?.stringValue))
    }

    private func broadcast(_ change: TokenChange) {
        for continuation in listeners.withLock({ Array($0.values) }) { continuation.yield(change) }
    }

    /// Stops following the channel (the store itself is closed by its owner).
    public func close() {
        listening.withLock { $0.take() }?.cancel()
        for continuation in listeners.withLock({ Array($0.values) }) { continuation.finish() }
    }

    // MARK: - Shared secrets

    public func sharedSecret(named name: String) async throws(OAuthError) -> [UInt8] {
        var binds = PostgresBindings()
        binds.append(name)
        binds.append(try seal(.string(Base64URL.encode(RandomToken.bytes(32))), for: "secret/\(name)"))
        let rows = try await run(
            "WITH made AS (INSERT INTO store_secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING "
                + "RETURNING sealed) SELECT sealed FROM made UNION ALL SELECT sealed FROM store_secrets WHERE name = $1",
            binds)
        guard let sealed = try? rows.first?.decode(ByteBuffer.self),
            let text = try open(sealed, for: "secret/\(name)").stringValue, let bytes = Base64URL.decode(text)
        else { throw .storage("the shared secret \(name) cannot be read") }
        return bytes
    }
}
