// mcp-example-server: a small but real MCP server over stdio, written in Swift.
//
// It speaks newline-delimited JSON-RPC 2.0 on stdin/stdout (logs go to stderr only) and serves a
// handful of useful tools. swift-mcpo's README uses it as the first thing to proxy, and the
// integration tests drive the proxy against it.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Command-line options.
struct Options {
    /// Tools per `tools/list` page; nil serves every tool in one page.
    var pageSize: Int?
    /// Logs every message's method and id to stderr.
    var verbose = false

    static let usage = """
        usage: mcp-example-server [--page-size N] [--verbose]

        A Model Context Protocol server on stdio (newline-delimited JSON-RPC 2.0).

        options:
          --page-size N   serve tools/list in pages of N tools, linked by nextCursor
          --verbose       log every message's method and id to stderr
          --help          show this help
        """

    /// Parses `arguments` (without the program name); on error, returns the message to print.
    static func parse(_ arguments: [String]) -> Result<Options, UsageError> {
        var options = Options()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            switch name {
            case "--page-size":
                guard let text = inlineValue ?? remaining.popFirst() else {
                    return .failure(UsageError("--page-size needs a value"))
                }
                guard let size = Int(text), size >= 1 else {
                    return .failure(UsageError("--page-size must be a positive integer, got '\(text)'"))
                }
                options.pageSize = size
            case "--verbose", "-v":
                options.verbose = true
            case "--help", "-h":
                return .failure(UsageError(nil))
            default:
                return .failure(UsageError("unknown argument '\(argument)'"))
            }
        }
        return .success(options)
    }
}

/// A command-line mistake (`message`), or a request for help (nil message).
struct UsageError: Error {
    let message: String?
    init(_ message: String?) { self.message = message }
}

// A client that goes away mid-write must not kill us with SIGPIPE; write(2) reports EPIPE instead.
signal(SIGPIPE, SIG_IGN)

let options: Options
switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let parsed):
    options = parsed
case .failure(let error):
    if let message = error.message {
        StandardError.log("error: \(message)\n\n\(Options.usage)")
        exit(2)
    }
    print(Options.usage)  // asked for: stdout, as usual for --help
    exit(0)
}

let server = Server(
    tools: ExampleTools.all,
    pageSize: options.pageSize,
    output: StdioWriter(fileDescriptor: STDOUT_FILENO),
    verbose: options.verbose
)
if options.verbose {
    StandardError.log(
        "\(Server.serverName) \(Server.serverVersion) serving \(ExampleTools.all.count) tools on stdio")
}
await server.run(lines: StdinLines.start(fileDescriptor: STDIN_FILENO))
exit(0)
