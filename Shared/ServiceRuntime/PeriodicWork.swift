import Logging
import ServiceLifecycle

/// Runs `pass` now and then every `interval` until graceful shutdown or cancellation. A pass
/// that fails is logged and tried again at the next tick, so a background `Service` (durable
/// timers, delivery loops) survives a database or network hiccup.
public func runPeriodically(
    every interval: Duration, logger: Logger, failure message: Logger.Message, _ pass: @escaping @Sendable () async throws -> Void
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
                try await Task.sleep(for: interval)
            }
        }
    } catch is CancellationError {}
}
