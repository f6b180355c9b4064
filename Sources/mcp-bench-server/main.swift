#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The benchmark's stub MCP server: one tool, `echo {text}`, answered as fast as the transport allows.
//
//   mcp-bench-server                  stdio (newline-delimited JSON-RPC)
//   mcp-bench-server --http PORT      streamable HTTP on http://127.0.0.1:PORT/mcp (0: any free port)
//                    [--threads N]    event loop threads for HTTP (default: 1)

enum StandardError {
    static func emit(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }
}

private func usage() -> Never {
    StandardError.emit("usage: mcp-bench-server [--http PORT [--threads N]]\n")
    exit(2)
}

private func main() -> Int32 {
    var arguments = CommandLine.arguments.dropFirst()
    var port: Int?
    var threads = 1
    while let argument = arguments.popFirst() {
        switch argument {
        case "--http":
            guard let value = arguments.popFirst().flatMap({ Int($0) }), (0...65535).contains(value) else { usage() }
            port = value
        case "--threads":
            guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else { usage() }
            threads = value
        default:
            usage()
        }
    }
    guard let port else { return StdioServer.run() }
    do {
        try HTTPServer.run(port: port, threads: threads)
        return 0
    } catch {
        StandardError.emit("mcp-bench-server: \(error)\n")
        return 1
    }
}

exit(main())
