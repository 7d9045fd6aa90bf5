import Logging
import Persistence
import ServiceLifecycle

/// Runs `pass` now and then every `interval` (or sooner, on each of `wakeups`) until graceful
/// shutdown or cancellation. A pass that fails is logged and tried again at the next tick, so a
/// background `Service` (durable timers, delivery loops, executors) survives a database or
/// network hiccup instead of stopping the whole service.
public func runPeriodically(
    every interval: Duration, wakeups: AsyncStream<Void>? = nil, logger: Logger, failure message: Logger.Message,
    _ pass: @escaping @Sendable () async throws -> Void
) async throws {
    let signal = WakeSignal()
    do {
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let wakeups {
                    // One iterator for the loop's whole life: cancelling a task waiting in an
                    // AsyncStream iterator finishes the stream, so it must not race the sleep.
                    group.addTask {
                        for await _ in wakeups { signal.signal() }
                    }
                }
                while !Task.isCancelled {
                    do {
                        try await pass()
                    } catch {
                        if Task.isCancelled { break }
                        logger.warning(message, metadata: ["error": "\(error)"])
                    }
                    try await signal.wait(upTo: interval)
                }
                group.cancelAll()
            }
        }
    } catch is CancellationError {}
}
