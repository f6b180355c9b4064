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
await MCPOCommand.runAsMain()
