import Synchronization

/// A one-shot signal: services that must not start before migrations wait on it.
public final class StartupGate: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Void, any Error>])
        case open
        case failed(any Error)
    }

    private let state = Mutex(State.waiting([]))

    public init() {}

    public var isOpen: Bool {
        state.withLock { if case .open = $0 { return true } else { return false } }
    }

    public func open() {
        finish(.open).forEach { $0.resume() }
    }

    public func fail(_ error: any Error) {
        finish(.failed(error)).forEach { $0.resume(throwing: error) }
    }

    public func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLock { state in
                switch state {
                case .waiting(let waiters):
                    state = .waiting(waiters + [continuation])
                    return nil
                case .open: return .success(())
                case .failed(let error): return .failure(error)
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    private func finish(_ final: State) -> [CheckedContinuation<Void, any Error>] {
        state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = final
            return waiters
        }
    }
}
