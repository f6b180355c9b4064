import Logging
import MCPOConfig

/// Opens the store a location names.
public enum GovernanceStores {
    /// `poolSize`: the most connections a PostgreSQL store keeps (`storePoolSize`).
    public static func open(_ location: StoreLocation, poolSize: Int = 4, logger: Logger) async throws(AuditError)
        -> any GovernanceStore
    {
        switch location {
        case .sqlite(let path):
            return try await SQLiteStore.open(path: path, logger: logger)
        case .postgres(let url):
            return try await PostgresStore.open(url: url, poolSize: poolSize, logger: logger)
        }
    }
}
