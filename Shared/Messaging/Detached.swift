import Synchronization

/// Runs work in a task of its own that the caller stops waiting for when it is cancelled or
/// the timeout passes (the work is cancelled and abandoned, and may finish later or never): for
/// calls that may hang on a dead connection and ignore cancellation.
public enum Detached {
    public struct TimedOut: Error, CustomStringConvertible {
        public let timeout: Duration
        public var description: String { "no answer within \(timeout)" }
    }

    private struct State<Value> {
        var continuation: CheckedContinuation<Value, any Error>?
        var outcome: Result<Value, any Error>?
        var done = false
    }

    public static func run<Value: Sendable>(
        timeout: Duration? = nil, _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        // The first outcome wins; it may come before the waiter's continuation exists.
        let state = Mutex(State<Value>())
        let finish = { @Sendable (result: Result<Value, any Error>) in
            let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
                guard !state.done else { return nil }
                guard let continuation = state.continuation else {
                    if state.outcome == nil { state.outcome = result }
                    return nil
                }
                state.done = true
                state.continuation = nil
                return continuation
            }
            continuation?.resume(with: result)
        }
        let work = Task { finish(await Result(catching: { try await operation() })) }
        let timer = timeout.map { timeout in
            Task {
                try await Task.sleep(for: timeout)
                work.cancel()
                finish(.failure(TimedOut(timeout: timeout)))
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let early = state.withLock { state -> Result<Value, any Error>? in
                    if let outcome = state.outcome {
                        state.done = true
                        return outcome
                    }
                    state.continuation = continuation
                    return nil
                }
                if let early { continuation.resume(with: early) }
                // Cancelled before the continuation was stored: the handler found nothing to resume.
                if Task.isCancelled {
                    work.cancel()
                    finish(.failure(CancellationError()))
                }
            }
        } onCancel: {
            work.cancel()
            finish(.failure(CancellationError()))
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
