import NIOCore
import NIOPosix
import Testing

@testable import MCPOHTTP

@Suite("request tasks on their connection's loop")
struct LoopTaskExecutorTests {
    @Test("a task that prefers a loop carries on on it after each resumption from another loop")
    func resumesOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let (home, other) = (loops[0], loops[1])
        let seen = try await Task(executorPreference: LoopTaskExecutor(loop: home)) { () async throws -> [Bool] in
            var seen = [home.inEventLoop]
            for _ in 0..<3 {
                let promise = other.makePromise(of: Void.self)
                other.execute { promise.succeed() }
                try await promise.futureResult.get()
                seen.append(home.inEventLoop)
            }
            return seen
        }.value
        #expect(seen == [true, true, true, true])
        // Without the preference the same awaits carry on wherever the runtime puts them, never on `home` here.
        let unpreferred = try await Task { () async throws -> Bool in
            let promise = other.makePromise(of: Void.self)
            other.execute { promise.succeed() }
            try await promise.futureResult.get()
            return home.inEventLoop
        }.value
        #expect(!unpreferred)
        try await group.shutdownGracefully()
    }

    @Test("one executor per loop, and none when request tasks stay on Swift's own pool")
    func onePerLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let executors = LoopTaskExecutors(enabled: true)
        let first = try #require(executors.executor(for: loops[0]))
        #expect(executors.executor(for: loops[0]) === first)
        #expect(first.loop === loops[0])
        let second = try #require(executors.executor(for: loops[1]))
        #expect(second !== first && second.loop === loops[1])
        #expect(LoopTaskExecutors(enabled: false).executor(for: loops[0]) == nil)
        try await group.shutdownGracefully()
    }
}
