import CConcurrencyHook
import NIOCore
import NIOPosix

/// Runs Swift concurrency's global executor on NIO's event loop threads.
///
/// A call crosses the HTTP connection, the handler's task and the upstream pipe or socket; on Swift's own
/// pool each crossing wakes another thread. On the event loops a task resumed by a channel stays on that
/// channel's thread (`MultiThreadedEventLoopGroup.any()` prefers the current loop), which removes most thread
/// switches from a call.
///
/// NIO's own `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()` cannot be used: it
/// finds the hook with `dlsym`, which fails in a binary linked with the static Swift runtime, and it runs
/// each job isolated to the event loop's serial executor, so every nonisolated `async` function the job
/// enters switches executors and is enqueued again (about 60 extra hops per proxied call). Jobs here run on
/// the generic executor, as on Swift's own pool.
enum EventLoopGlobalExecutor {
    private typealias EnqueueGlobalHook =
        @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) ->
        Void

    /// Installs the hook once, before any task runs; false when the runtime has no hook or one is installed.
    static func install() -> Bool {
        guard let slot = cconcurrency_enqueue_global_hook_address(), slot.pointee == nil else { return false }
        let hook: EnqueueGlobalHook = { job, _ in
            MultiThreadedEventLoopGroup.singleton.any().execute {
                runJob(job, genericExecutor)
            }
        }
        // A thin function value is a bare code pointer, which is what the runtime stores and calls.
        slot.pointee = unsafeBitCast(hook, to: UnsafeMutableRawPointer.self)
        return true
    }
}

/// The runtime's entry point that runs a job on an executor (the standard library calls it the same way).
@_silgen_name("swift_job_run")
private func runJob(_ job: UnownedJob, _ executor: UnownedSerialExecutor)

/// The generic executor (no isolation), which the runtime represents as two zero words; the standard
/// library has no public way to name it.
private let genericExecutor = unsafeBitCast((UInt(0), UInt(0)), to: UnownedSerialExecutor.self)
