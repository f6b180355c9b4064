import Dispatch
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
let executor: MCPOCommand.Executor
if getenv("MCPO_EXECUTOR").map({ String(cString: $0) }) == "swift" {
    executor = .swiftPool(reason: "MCPO_EXECUTOR=swift")
} else if EventLoopGlobalExecutor.install() {
    executor = .eventLoops
} else {
    executor = .swiftPool(reason: "this Swift runtime has no global executor hook")
}

// The proxy runs as a detached task (nothing in it uses the main actor) and the main thread waits for it. An
// async `main` would end the main thread in `dispatch_main()`, whose `pthread_exit` unwinds the thread's stack:
// reading most of a MiB of the executable's unwind tables, for a thread that never comes back.
let finished = DispatchSemaphore(value: 0)
Task.detached {
    await MCPOCommand.runAsMain(executor: executor)
    finished.signal()
}
finished.wait()
exit(0)
