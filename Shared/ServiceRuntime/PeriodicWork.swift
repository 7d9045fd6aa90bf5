import Logging
import ServiceLifecycle

/// Runs `pass` now and then every `interval` (or sooner, on each of `wakeups`) until graceful
/// shutdown or cancellation. A pass that fails is logged and tried again at the next tick, so a
/// background `Service` (durable timers, delivery loops, executors) survives a database or
/// network hiccup instead of stopping the whole service.
public func runPeriodically(
    every interval: Duration, wakeups: AsyncStream<Void>? = nil, logger: Logger, failure message: Logger.Message,
    _ pass: @escaping @Sendable () async throws -> Void
) async throws {
    do {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await pass()
                } catch {
                    if Task.isCancelled { return }
                    logger.warning(message, metadata: ["error": "\(error)"])
                }
                try await nextTick(after: interval, or: wakeups)
            }
        }
    } catch is CancellationError {}
}

/// Waits for `interval` or the next wake-up, whichever comes first.
private func nextTick(after interval: Duration, or wakeups: AsyncStream<Void>?) async throws {
    guard let wakeups else { return try await Task.sleep(for: interval) }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await Task.sleep(for: interval) }
        group.addTask {
            var iterator = wakeups.makeAsyncIterator()
            _ = await iterator.next()
        }
        _ = try await group.next()
        group.cancelAll()
    }
}
