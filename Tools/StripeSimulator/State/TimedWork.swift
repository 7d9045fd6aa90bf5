import Logging
import ServiceLifecycle

/// What happens later, on its own: a payout settling, a refund or paid payout failing late.
enum TimedAction: Sendable, Equatable {
    case settlePayout(String)
    case failRefund(String, reason: String)
    case returnPayout(String, failureCode: String)
}

/// Runs timed actions on the state when they are due.
struct TimedWork: Service {
    let queue: DueQueue<TimedAction>
    let state: SimulatorState
    let logger: Logger

    func run() async throws {
        // Shutdown cancels the wait for work; pending actions are dropped with the state.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for entry in try await queue.nextDue() {
                    do {
                        try await state.perform(entry.item)
                    } catch {
                        logger.warning("timed action not applied", metadata: ["action": "\(entry.item)", "error": "\(error)"])
                    }
                }
            }
        }
    }
}
