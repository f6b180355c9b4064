import Foundation
import JSONValue

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads standard input on a thread of its own, so blocking reads never hold a thread of the
/// cooperative pool, and hands over one line at a time.
enum StdinLines {
    /// Starts the reader thread. The stream yields every line without its line break (a trailing
    /// `\r` is dropped too) and finishes at end of input or on a read error.
    static func start(fileDescriptor: Int32) -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: [UInt8].self, bufferingPolicy: .unbounded)
        let thread = Thread {
            var splitter = LineSplitter()
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = chunk.withUnsafeMutableBytes { buffer in
                    read(fileDescriptor, buffer.baseAddress, buffer.count)
                }
                if count == 0 { break }
                if count < 0 {
                    if errno == EINTR { continue }
                    StandardError.log("reading stdin failed: \(String(cString: strerror(errno)))")
                    break
                }
                splitter.append(chunk[0..<count]) { continuation.yield($0) }
            }
            if let last = splitter.finish() { continuation.yield(last) }
            continuation.finish()
        }
        thread.name = "stdin-reader"
        thread.start()
        return stream
    }
}

/// Splits a byte stream into lines; lines may be arbitrarily long.
struct LineSplitter {
    private var pending: [UInt8] = []

    /// Appends `bytes` and calls `emit` for every line they complete.
    mutating func append(_ bytes: ArraySlice<UInt8>, emit: ([UInt8]) -> Void) {
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            pending.append(contentsOf: bytes[start..<newline])
            emit(takeLine())
            start = bytes.index(after: newline)
        }
        pending.append(contentsOf: bytes[start...])
    }

    /// The unterminated last line, if any.
    mutating func finish() -> [UInt8]? {
        pending.isEmpty ? nil : takeLine()
    }

    private mutating func takeLine() -> [UInt8] {
        var line: [UInt8] = []
        swap(&line, &pending)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }
}

/// Writes JSON-RPC messages to standard output, one per line, never interleaving two messages.
actor StdioWriter {
    private let fileDescriptor: Int32
    private var closed = false

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Writes `message` followed by a newline. Once the reader has gone away, output is dropped.
    func send(_ message: JSON) {
        guard !closed else { return }
        var bytes = message.bytes
        bytes.append(UInt8(ascii: "\n"))
        if let error = Self.writeAll(bytes, to: fileDescriptor) {
            closed = true
            StandardError.log("writing stdout failed (\(error)); dropping further output")
        }
    }

    /// Writes every byte, retrying partial writes and interrupted calls; returns an error text on failure.
    private static func writeAll(_ bytes: [UInt8], to fileDescriptor: Int32) -> String? {
        bytes.withUnsafeBytes { buffer -> String? in
            guard let base = buffer.baseAddress else { return nil }
            var offset = 0
            while offset < buffer.count {
                let written = write(fileDescriptor, base + offset, buffer.count - offset)
                if written >= 0 {
                    offset += written
                } else if errno == EINTR {
                    continue
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    // Someone made our stdout non-blocking; wait until it can take more.
                    var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&descriptor, 1, 1000)
                } else {
                    return String(cString: strerror(errno))
                }
            }
            return nil
        }
    }
}

/// Diagnostics on standard error; stdout belongs to the protocol.
enum StandardError {
    /// Writes one prefixed diagnostic line.
    static func log(_ message: String) {
        emit("[mcp-example-server] \(message)\n")
    }

    /// Writes `text` as is.
    static func emit(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
