import Logging
import Messaging
import Persistence
import ServiceLifecycle

/// Runs `pass` now and then every `interval` (or sooner, on each of `wakeups`) until graceful
/// shutdown or cancellation. A pass that fails is logged and tried again at the next tick, so a
/// background `Service` (durable timers, delivery loops, executors) survives a database or
/// network hiccup instead of stopping the whole service.
///
/// A pass that runs longer than `passTimeout` is abandoned (a query in flight on a connection
/// whose server went away never answers and ignores cancellation), and so is the pass in hand
/// at shutdown: the loop goes on, and the service stops, either way.
public func runPeriodically(
    every interval: Duration, wakeups: AsyncStream<Void>? = nil, passTimeout: Duration = .seconds(120), logger: Logger,
    failure message: Logger.Message, _ pass: @escaping @Sendable () async throws -> Void
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
                        try await Detached.run(timeout: passTimeout) { try await pass() }
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
