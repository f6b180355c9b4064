#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Newline-delimited JSON-RPC on stdin/stdout, on the calling thread with blocking reads.
///
/// Every complete line of a read is answered at once, and all the answers to one read go out in a
/// single `write`, so a client with many requests in flight gets them back in order of arrival with
/// one system call per batch.
enum StdioServer {
    static func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 16)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var output: [UInt8] = []
        output.reserveCapacity(1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                return 1
            }
            // Lines are looked for only in the new bytes; what came before had no line break.
            var searchFrom = pending.count
            pending.append(contentsOf: chunk[0..<count])
            var lineStart = 0
            while let newline = pending[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                answer(pending[lineStart..<newline], into: &output)
                lineStart = newline + 1
                searchFrom = lineStart
            }
            pending.removeSubrange(0..<lineStart)
            guard writeAll(&output) else { return 0 }  // the client went away
        }
        if !pending.isEmpty {
            answer(pending[...], into: &output)
            _ = writeAll(&output)
        }
        return 0
    }

    private static func answer(_ line: ArraySlice<UInt8>, into output: inout [UInt8]) {
        var line = line
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return }
        let outcome = line.withUnsafeBytes { Responder.handle($0, into: &output) }
        if case .answered = outcome { output.append(UInt8(ascii: "\n")) }
    }

    /// Writes and empties `output`; false when stdout is closed.
    private static func writeAll(_ output: inout [UInt8]) -> Bool {
        defer { output.removeAll(keepingCapacity: true) }
        var written = 0
        while written < output.count {
            let result = output.withUnsafeBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return 0 }
                return write(STDOUT_FILENO, base + written, bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += result
        }
        return true
    }
}
