import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A plain TCP connection to 127.0.0.1 driven byte by byte, for clients an HTTP library would never be: one that
/// sends a request head a byte at a time, one that sends nothing, one that keeps its connection between requests.
/// Blocking calls run on threads of their own, never on the cooperative pool.
public final class RawConnection: Sendable {
    public let descriptor: Int32

    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Connects (blocking, on the calling thread).
    public static func connectBlocking(port: Int) throws -> RawConnection {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failed(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw Failed(description: "connect to port \(port): errno \(code)")
        }
        return RawConnection(descriptor: descriptor)
    }

    public static func connect(port: Int) async throws -> RawConnection {
        try await onThread { try connectBlocking(port: port) }
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard
            bytes.withUnsafeBytes({ Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) })
                == bytes.count
        else { throw Failed(description: "send: errno \(errno)") }
    }

    /// Reads one HTTP answer (head and the body its `Content-Length` announces), waiting at most `bound`.
    public func readAnswer(bound: Duration = .seconds(30)) async throws -> String {
        try await Self.onThread { [self] in
            var received: [UInt8] = []
            let deadline = ContinuousClock.now + bound
            while ContinuousClock.now < deadline {
                let text = String(decoding: received, as: UTF8.self)
                if let split = text.range(of: "\r\n\r\n") {
                    let head = text[..<split.lowerBound].lowercased()
                    let length =
                        head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                    if text[split.upperBound...].utf8.count >= length { return text }
                }
                guard try waitReadable(until: deadline) else { break }
                var chunk = [UInt8](repeating: 0, count: 65536)
                let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw Failed(description: "the connection closed before the answer ended") }
                received += chunk[0..<count]
            }
            throw Failed(description: "no whole answer within \(bound)")
        }
    }

    /// Whether the peer has closed the connection (reads end), without waiting.
    public var isClosedByPeer: Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) <= 0
    }

    /// Waits until the peer closes the connection; false when `bound` passed first.
    public func waitForClose(bound: Duration) async -> Bool {
        await Self.closedByPeer([self], bound: bound) == 1
    }

    /// Waits until the peer has closed every one of `connections` (or `bound` passes); returns how many it closed.
    public static func closedByPeer(_ connections: [RawConnection], bound: Duration) async -> Int {
        (try? await onThread {
            var open = Set(connections.map(\.descriptor))
            let deadline = ContinuousClock.now + bound
            while !open.isEmpty, ContinuousClock.now < deadline {
                var entries = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                guard poll(&entries, nfds_t(entries.count), 200) >= 0 else { break }
                for entry in entries where entry.revents != 0 {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let count = recv(entry.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                    if count == 0 || (count < 0 && errno != EAGAIN) { open.remove(entry.fd) }
                }
            }
            return connections.count - open.count
        }) ?? 0
    }

    public func close() {
        _ = Glibc.close(descriptor)
    }

    private func waitReadable(until deadline: ContinuousClock.Instant) throws -> Bool {
        let remaining = ContinuousClock.now.duration(to: deadline)
        let milliseconds = max(
            0, Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, milliseconds)
        guard ready >= 0 else { throw Failed(description: "poll: errno \(errno)") }
        return ready > 0
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
