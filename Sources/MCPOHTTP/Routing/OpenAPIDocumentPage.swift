import JSONValue
import MCPBridge
import MCPOIdentity
import Synchronization

/// An OpenAPI document served whole, or, to a caller with a credential, listing only the tools that credential may
/// call (each server's `toolScopes` against the caller's scopes), under the same paths and operationIds. Documents of
/// the few scope sets callers have are made once and kept.
final class OpenAPIDocumentPage: Sendable {
    struct Source: Sendable {
        var section: OpenAPISection
        var server: MountedServer
    }

    let full: StaticPage
    private let options: OpenAPIOptions
    private let sources: [Source]
    private let byKept = Mutex<[String: StaticPage]>([:])
    /// Distinct documents kept at most; beyond it the next is made and not kept.
    private static let keptAtMost = 64

    init(options: OpenAPIOptions, sources: [Source]) {
        self.options = options
        self.sources = sources
        self.full = StaticPage(
            bytes: OpenAPIGenerator.document(options: options, sections: sources.map(\.section)).bytes,
            contentType: "application/json")
    }

    /// The document `caller` sees.
    func page(for caller: CallerIdentity) -> StaticPage {
        var kept: [OpenAPISection] = []
        var key = ""
        var all = true
        for source in sources {
            let rules = source.server.toolScopes
            let catalog = source.section.catalog.keeping { operation in
                caller.scopes.missing(rules.requiredScopes(for: operation.tool.name)).isEmpty
            }
            all = all && catalog.operations.count == source.section.catalog.operations.count
            key += catalog.operations.map(\.operationId).joined(separator: ",") + ";"
            var section = source.section
            section.catalog = catalog
            kept.append(section)
        }
        if all { return full }
        if let made = byKept.withLock({ $0[key] }) { return made }
        let page = StaticPage(
            bytes: OpenAPIGenerator.document(options: options, sections: kept).bytes, contentType: "application/json")
        byKept.withLock { pages in
            if pages.count < Self.keptAtMost { pages[key] = page }
        }
        return page
    }
}
