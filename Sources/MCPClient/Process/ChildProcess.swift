import CSpawnShim
import MCPOConfig
import MCPOSystem
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "was killed by signal \(signal)"
        }
    }
}

struct SpawnError: Error, Sendable, CustomStringConvertible {
    let description: String
}

/// A spawned child in its own process group, with the parent ends of its three pipes.
///
/// The group matters: servers started through `npx` or `uvx` run the real server as a grandchild, and
/// signalling the whole group is the only way to stop it without leaving orphans.
final class ChildProcess: Sendable {
    let pid: pid_t
    /// Parent ends, owned by whoever takes them (the transport hands them to NIO).
    let standardInput: Int32
    let standardOutput: Int32
    let standardError: Int32
    private let exit: EventLoopPromise<ExitStatus>

    var exitStatus: EventLoopFuture<ExitStatus> { exit.futureResult }

    private init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32, exit: EventLoopPromise<ExitStatus>) {
        self.pid = pid
        self.standardInput = stdin
        self.standardOutput = stdout
        self.standardError = stderr
        self.exit = exit
    }

    /// Spawns `command` (looked up in the PATH of the child's environment when it has no slash).
    static func spawn(_ spec: ProcessSpec, eventLoop: any EventLoop) throws(SpawnError) -> ChildProcess {
        let executable = try resolveExecutable(spec.command, environment: spec.environment)
        if let directory = spec.workingDirectory {
            var info = stat()
            guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw SpawnError(description: "working directory '\(directory)' does not exist")
            }
        }
        let stdinPipe = try makePipe()
        let stdoutPipe = try makePipe()
        let stderrPipe = try makePipe()
        let childEnds = [stdinPipe.read, stdoutPipe.write, stderrPipe.write]
        let parentEnds = [stdinPipe.write, stdoutPipe.read, stderrPipe.read]
        defer { closeAll(childEnds) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe.write, 2)
        if let directory = spec.workingDirectory {
            let result = cspawn_file_actions_addchdir(&actions, directory)
            if result != 0 {
                closeAll(parentEnds)
                throw SpawnError(description: "cannot use working directory '\(directory)': \(errnoText(result))")
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The proxy ignores SIGPIPE; the child must get default dispositions and an empty mask back.
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = [executable] + spec.arguments
        let envp = spec.environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let result = withCStringArray(argv) { argvPointer in
            withCStringArray(envp) { envpPointer in
                posix_spawn(&pid, executable, &actions, &attributes, argvPointer, envpPointer)
            }
        }
        guard result == 0 else {
            closeAll(parentEnds)
            throw SpawnError(description: "cannot start '\(spec.command)': \(errnoText(result))")
        }
        let process = ChildProcess(
            pid: pid, stdin: stdinPipe.write, stdout: stdoutPipe.read, stderr: stderrPipe.read,
            exit: eventLoop.makePromise(of: ExitStatus.self))
        guard process.startReaper() else {
            process.signalGroup(SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            process.exit.fail(SpawnError(description: "no thread to wait for '\(spec.command)'"))
            closeAll([process.standardInput, process.standardOutput, process.standardError])
            throw SpawnError(description: "cannot start '\(spec.command)': the system refused a thread to wait for it")
        }
        return process
    }

    /// Sends `signal` to the child's whole process group.
    func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// A blocking waitpid on a thread of its own: Dispatch has no child-exit source on Linux, and polling
    /// would either add latency or burn CPU.
    private func startReaper() -> Bool {
        let pid = self.pid
        let exit = self.exit
        return OSThread.detach(stackSize: 64 * 1024) {
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, 0) } while result == -1 && errno == EINTR
            let low = status & 0x7f
            exit.succeed(low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low))
        }
    }

    private static func makePipe() throws(SpawnError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard cspawn_pipe_cloexec(&fds) == 0 else {
            throw SpawnError(description: "cannot create a pipe: \(errnoText(errno))")
        }
        return (fds[0], fds[1])
    }

    private static func resolveExecutable(_ command: String, environment: [String: String]) throws(SpawnError)
        -> String
    {
        guard !command.isEmpty else { throw SpawnError(description: "the server command is empty") }
        if command.utf8.contains(UInt8(ascii: "/")) {
            guard access(command, X_OK) == 0 else {
                throw SpawnError(description: "cannot execute '\(command)': \(errnoText(errno))")
            }
            return command
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + command
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw SpawnError(description: "command '\(command)' was not found in PATH (\(path))")
    }
}

/// What to run: the fully resolved environment, not a delta.
struct ProcessSpec: Sendable {
    var command: String
    var arguments: [String]
    var environment: [String: String]
    var workingDirectory: String?
}

private func closeAll(_ descriptors: [Int32]) {
    for descriptor in descriptors { _ = close(descriptor) }
}

func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

private func withCStringArray<Result>(
    _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
) -> Result {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { buffer in
        // The buffer always holds at least the terminating nil, so its base address exists.
        body(buffer.baseAddress!)
    }
}
