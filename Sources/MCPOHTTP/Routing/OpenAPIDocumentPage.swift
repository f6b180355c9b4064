import JSONValue
import MCPBridge
import MCPOIdentity
import Synchronization

/// Which rendering of a document a route serves.
enum DocumentVersion: Sendable, Hashable {
    /// `/openapi.json`: OpenAPI 3.1, as generated.
    case openAPI31
    /// `/openapi-3.0.json`: OpenAPI 3.0.3 without references in bodies (`OpenAPI30Renderer`).
    case openAPI30
}

/// An OpenAPI document served whole, or, to a caller with a credential, listing only the tools that credential may
/// call (each server's `toolScopes` against the caller's scopes), under the same paths and operationIds; in 3.1 or in
/// 3.0; whole or in the compact profile (`?profile=compact`); with an absolute `servers` URL made from how the
/// caller reached the proxy. The few documents callers ask for
/// are made once and kept.
final class OpenAPIDocumentPage: Sendable {
    struct Source: Sendable {
        var section: OpenAPISection
        var server: MountedServer
    }

    private let options: OpenAPIOptions
    /// The document's mount (`--root-path` and the server's prefix): `servers` is the caller's origin and this.
    private let mount: String
    private let sources: [Source]
    private let kept = Mutex<[String: StaticPage]>([:])
    /// Distinct documents kept at most; beyond it the next is made and not kept.
    private static let keptAtMost = 64

    init(options: OpenAPIOptions, mount: String, sources: [Source]) {
        self.options = options
        self.mount = mount
        self.sources = sources
    }

    /// The document `caller` sees (nil: the whole document), in `version`, reached at `origin`
    /// (`scheme://host`, nil when unknown: `servers` is then the mount alone, or absent at the root).
    func page(for caller: CallerIdentity?, version: DocumentVersion, origin: String?, compact: Bool = false)
        -> StaticPage
    {
        var sections: [OpenAPISection] = []
        var all = true
        for source in sources {
            var section = source.section
            if let caller {
                let rules = source.server.toolScopes
                section.catalog = section.catalog.keeping { operation in
                    caller.scopes.missing(rules.requiredScopes(for: operation.tool.name)).isEmpty
                }
                all = all && section.catalog.operations.count == source.section.catalog.operations.count
            }
            sections.append(section)
        }
        // The whole document (most requests) is named without listing its operations.
        let scope =
            all
            ? "*"
            : sections.map { $0.catalog.operations.map(\.operationId).joined(separator: ",") }.joined(separator: ";")
        let key = "\(version)|\(compact)|\(origin ?? "")|" + scope
        if let made = kept.withLock({ $0[key] }) { return made }
        var options = self.options
        let server = (origin ?? "") + mount
        options.servers = server.isEmpty ? [] : [server]
        var document = OpenAPIGenerator.document(options: options, sections: sections)
        if version == .openAPI30 { document = OpenAPI30Renderer.render(document) }
        if compact { document = CompactProfile.apply(document) }
        let page = StaticPage(bytes: document.bytes, contentType: "application/json")
        kept.withLock { pages in
            if pages.count < Self.keptAtMost { pages[key] = page }
        }
        return page
    }
}
