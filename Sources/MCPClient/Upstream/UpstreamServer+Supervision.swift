/// Keeping a server connected in the background: reconnect with backoff whenever it is down, wait for a user
/// when it needs an OAuth authorization.
extension UpstreamServer {
    /// Connects in the background and keeps reconnecting (with backoff) whenever the server is down,
    /// until `shutdown()`. Returns at once; snapshots reach the observer.
    public func startInBackground() {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        core.withLock { core in
            guard core.supervisor == nil, !core.lifecycle.isStopped else { return }
            core.lifecycle.supervised = true
            core.disconnects = continuation
            core.supervisor = Task { await self.supervise(disconnects: stream) }
        }
    }

    private func supervise(disconnects: AsyncStream<Void>) async {
        var failures = 0
        var iterator = disconnects.makeAsyncIterator()
        while !Task.isCancelled {
            do {
                _ = try await session()
                failures = 0
                // Connected: sleep until the connection ends, then reconnect.
                guard await iterator.next() != nil else { return }
            } catch {
                if Task.isCancelled || isStopped { return }
                if case .authorizationRequired(let link) = error, let authorizer {
                    // Nothing to retry until a user acts: wait for the authorization, then connect.
                    failures = 0
                    guard core.withLock({ $0.lifecycle.awaitingAuthorization(url: link.url) }) else { continue }
                    logger.warning("[\(name)] OAuth authorization required; connecting once it is done")
                    await authorizer.authorizationChanged()
                    continue
                }
                let delay = backoff.delay(afterFailures: failures)
                failures += 1
                let reason = error.reason
                let retryAt = ContinuousClock.now + .milliseconds(Int64(delay * 1000))
                guard core.withLock({ $0.lifecycle.backingOff(reason: reason, until: retryAt) }) else { continue }
                logger.warning("[\(name)] cannot connect: \(reason); retrying in \(Self.oneDecimal(delay)) s")
                do {
                    try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                } catch {
                    return
                }
            }
        }
    }

    /// `2.5` for 2.46 (without Foundation's formatter).
    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Delays between reconnect attempts: `initial` doubling up to `maximum`, each with ±`jitter` so many
/// proxies do not hammer a recovering server in lockstep.
struct Backoff: Sendable {
    var initial = 0.5
    var maximum = 30.0
    var jitter = 0.2

    func delay(afterFailures failures: Int, random: Double = Double.random(in: -1...1)) -> Double {
        let base = min(maximum, initial * Double(1 << min(max(failures, 0), 16)))
        return min(maximum, max(0.01, base * (1 + jitter * random)))
    }
}
