import Logging
import MCPOConfig

/// Opens the store a location names.
public enum GovernanceStores {
    public static func open(_ location: StoreLocation, logger: Logger) async throws(AuditError) -> any GovernanceStore {
        switch location {
        case .sqlite(let path):
            return try await SQLiteStore.open(path: path, logger: logger)
        case .postgres:
            throw .store("PostgreSQL stores are not supported by this build (\(location))")
        }
    }
}
