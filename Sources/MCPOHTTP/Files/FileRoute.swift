import MCPBridge
import MCPOIdentity
import NIOCore
import NIOHTTP1

/// `GET /files/<id>`: a large binary of an earlier answer, to the caller that made it (the same identity and the
/// same credential), until it expires; any other caller, and an expired or unknown id, get the same 404.
struct FileRoute {
    static let prefix = "/files/"

    let files: FileStore
    let check: CredentialCheck
    let address: PublicAddress

    func respond(to request: ProxyRequest, id: String) async -> ProxyResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return CallFailure.methodNotAllowed(allow: "GET").response
        }
        let identity: CallerIdentity
        switch await check.caller(of: request, address: address) {
        case .success(let caller): identity = caller
        case .failure(let failure): return failure.response
        }
        let owner = CallerKey.of(request, identity: identity.name)
        guard let file = files.get(id: id, owner: owner) else {
            let seconds = Int(files.settings.ttl.components.seconds)
            return .json(
                HTTPAnswer(
                    status: 404,
                    body: [
                        "detail": .string(
                            "No such file for this caller, or it expired (files are kept for \(seconds) s after the "
                                + "call that made them; call again for a new link)")
                    ]))
        }
        let headers: HTTPHeaders = [
            "Content-Type": file.contentType, "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        ]
        return ProxyResponse(status: .ok, headers: headers, body: .bytes(ByteBuffer(bytes: file.bytes)))
    }
}

extension FileStore {
    /// Where the large binaries of an answer to `request` go: kept for its caller (the identity's name), linked
    /// under the address it reached.
    func offload(for request: ProxyRequest, caller: String, address: PublicAddress) -> BinaryOffload {
        // Made for every answer, used by few: the owner's hash and the address only when a binary is kept.
        BinaryOffload(limit: settings.inlineLimit) { [self] contentType, bytes in
            let owner = CallerKey.of(request, identity: caller)
            return put(owner: owner, contentType: contentType, bytes: bytes).map {
                Self.url(base: address.base(of: request), id: $0)
            }
        }
    }
}
