import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Ports for fixture servers, never the same twice in one test process.
///
/// Drawn below Linux's ephemeral range (32768-60999), where the proxies under test get their `--port 0`
/// ports, and remembered, because two tests drawing at random would otherwise collide often enough (about
/// one run in ten with fifty fixtures) to connect a proxy to another test's server.
public enum FixturePorts {
    private static let handedOut = Mutex<Set<Int>>([])

    public struct Exhausted: Error, CustomStringConvertible {
        public let description = "no free fixture port found in 20000-31999"
    }

    public static func reserve() throws -> Int {
        for _ in 0..<500 {
            let port = Int.random(in: 20000..<32000)
            let fresh = handedOut.withLock { ports in ports.insert(port).inserted }
            if fresh, canBind(port) { return port }
        }
        throw Exhausted()
    }

    /// Whether something listens on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool {
        withLoopbackSocket(port) { descriptor, address, length in connect(descriptor, address, length) == 0 }
    }

    private static func canBind(_ port: Int) -> Bool {
        withLoopbackSocket(port) { descriptor, address, length in bind(descriptor, address, length) == 0 }
    }

    /// Runs `operation` on a fresh TCP socket with the address 127.0.0.1:`port`, then closes the socket.
    private static func withLoopbackSocket(
        _ port: Int, _ operation: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool
    ) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                operation(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}
