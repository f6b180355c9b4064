import Foundation
import Logging
import Testing

@testable import MCPOHTTP

/// The store of large binaries: memory up to its bound, a private folder beyond, owners kept apart, all gone at the end.
@Suite struct FileStoreTests {
    @Test("beyond the memory bound files go to a 0700 folder as 0600 files; only the owner reads; shutdown removes all")
    func storage() throws {
        var settings = FileStore.Settings()
        settings.memoryLimit = 10
        let store = FileStore(settings: settings, logger: Logger(label: "test"))
        let owner = CallerKey.of(identity: "ann", credential: "Bearer a")
        let inMemory = try #require(
            store.put(owner: owner, contentType: "image/png", bytes: Array(repeating: 1, count: 8)))
        let onDisk = try #require(
            store.put(owner: owner, contentType: "audio/wav", bytes: Array(repeating: 2, count: 8)))
        #expect(store.get(id: inMemory, owner: owner)?.bytes == Array(repeating: 1, count: 8))
        let read = try #require(store.get(id: onDisk, owner: owner))
        #expect(read.contentType == "audio/wav")
        #expect(read.bytes == Array(repeating: 2, count: 8))
        #expect(store.get(id: onDisk, owner: CallerKey.of(identity: "ann", credential: "Bearer b")) == nil)
        #expect(store.get(id: "unknown", owner: owner) == nil)

        let folders = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix("mcpo-files-") }
            .map { NSTemporaryDirectory() + "/" + $0 }
        let folder = try #require(
            folders.first { FileManager.default.fileExists(atPath: $0 + "/" + onDisk) })
        let folderMode = try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int
        #expect(folderMode == 0o700)
        let fileMode =
            try FileManager.default.attributesOfItem(atPath: folder + "/" + onDisk)[.posixPermissions] as? Int
        #expect(fileMode == 0o600)

        store.removeExpired(now: .now + .seconds(601))
        #expect(store.count == 0)
        #expect(!FileManager.default.fileExists(atPath: folder + "/" + onDisk))
        store.shutdown()
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(store.put(owner: owner, contentType: "x", bytes: [1]) == nil, "nothing is kept once stopped")
    }
}
