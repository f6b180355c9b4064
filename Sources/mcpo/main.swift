import MCPOCommand

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Writing to a stdio server that has just died must fail with EPIPE, not kill the proxy.
signal(SIGPIPE, SIG_IGN)
// Tasks run on the event loops unless MCPO_EXECUTOR=swift asks for Swift's own thread pool (docs/benchmarks.md).
if getenv("MCPO_EXECUTOR").map({ String(cString: $0) }) != "swift" {
    _ = EventLoopGlobalExecutor.install()
}
await MCPOCommand.runAsMain()
