import Foundation

/// The definition of one tool as approved, and, when the server lists another, that one too.
public struct ToolPin: Sendable, Equatable {
    public var server: String
    public var tool: String
    /// SHA-256 (hex) of the approved definition in canonical JSON.
    public var approvedHash: String
    /// The approved definition (canonical JSON text), served while a change waits for approval.
    public var approvedDefinition: String
    /// The definition the server lists now, when it differs from the approved one.
    public var currentHash: String?
    public var currentDefinition: String?
    public var firstSeen: Date
    public var approvedAt: Date

    public init(
        server: String, tool: String, approvedHash: String, approvedDefinition: String, currentHash: String? = nil,
        currentDefinition: String? = nil, firstSeen: Date, approvedAt: Date
    ) {
        self.server = server
        self.tool = tool
        self.approvedHash = approvedHash
        self.approvedDefinition = approvedDefinition
        self.currentHash = currentHash
        self.currentDefinition = currentDefinition
        self.firstSeen = firstSeen
        self.approvedAt = approvedAt
    }

    /// Whether the server lists a definition that was not approved.
    public var isChanged: Bool { currentHash != nil && currentHash != approvedHash }
}
