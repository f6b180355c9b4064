import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Bytes written as they are to 127.0.0.1:`port` and everything read back until the peer closes (or `bound`
/// seconds pass): for requests an HTTP client library would not send, such as absolute-form targets.
public enum RawHTTP {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    public static func exchange(port: Int, _ request: String, bound seconds: Int = 10) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            // A blocking socket, on a thread of its own rather than the cooperative pool.
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingExchange(port: port, Array(request.utf8), seconds) })
            }
        }
    }

    private static func blockingExchange(port: Int, _ request: [UInt8], _ seconds: Int) throws -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failed(description: "socket: errno \(errno)") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failed(description: "connect to port \(port): errno \(errno)") }
        guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw Failed(description: "send: errno \(errno)")
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += chunk[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
