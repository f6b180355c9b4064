import Foundation
import MCPOAuth
import MCPOConfig

/// Where audit records and pinned tool definitions are kept: one SQLite file here, one PostgreSQL database shared
/// by replicas. Every method may throw `AuditError.store` when the store cannot be reached or written.
public protocol GovernanceStore: Sendable {
    /// What the log and `/readyz` call it (a PostgreSQL URL without its password).
    var name: String { get }

    // MARK: Audit records

    /// Writes the records of `rows` (a batch, in one transaction).
    func append(_ rows: AuditRows) async throws(AuditError)
    /// The page of records `query` asks for, newest first.
    func records(matching query: AuditQuery) async throws(AuditError) -> AuditPage
    /// Totals of the calls since `since` (all when nil).
    func stats(since: Date?) async throws(AuditError) -> AuditStats
    /// Deletes the records older than `cutoff`; returns how many went.
    func deleteRecords(olderThan cutoff: Date) async throws(AuditError) -> Int

    // MARK: Pinned definitions

    /// Every pin, or a server's.
    func pins(server: String?) async throws(AuditError) -> [ToolPin]
    /// Pins a tool seen for the first time (kept as it is when a pin exists already, as another replica may have
    /// pinned it first); returns the pin in force.
    func pinFirstSeen(_ pin: ToolPin) async throws(AuditError) -> ToolPin
    /// Records the definition a server lists now (`hash` nil: the approved one again).
    func recordCurrent(server: String, tool: String, hash: String?, definition: String?) async throws(AuditError)
    /// Makes the current definition of the tools (all of the server's when `tools` is empty) the approved one;
    /// returns the pins approved.
    func approve(server: String, tools: [String], at time: Date) async throws(AuditError) -> [ToolPin]
    /// A number that changes whenever a pin does, to notice other writers' approvals cheaply.
    func pinsVersion() async throws(AuditError) -> Int64

    func close() async
    /// Whether several proxies may share this store (PostgreSQL; an SQLite file serves one).
    var sharedByReplicas: Bool { get }
    /// The OAuth state replicas share through this store (see the extension's default).
    func sharedOAuthState(key: StoreKey) -> (any SharedOAuthState)?
}

/// The audit module's one error type.
public enum AuditError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store cannot be opened, read or written (with why; never a password).
    case store(String)
    /// A request of the audit log that cannot be answered as asked (400).
    case badQuery(String)

    public var description: String {
        switch self {
        case .store(let reason): reason
        case .badQuery(let reason): reason
        }
    }
}

extension GovernanceStore {
    /// The OAuth state replicas share through this store, its secrets sealed with `key`; nil for a store of one
    /// proxy (SQLite), whose OAuth state stays in its token files.
    public func sharedOAuthState(key: StoreKey) -> (any SharedOAuthState)? { nil }
    public var sharedByReplicas: Bool { false }

    /// Writes `records` (a batch, in one transaction).
    public func append(_ records: [AuditRecord]) async throws(AuditError) {
        try await append(AuditRows(records))
    }
}
