import Synchronization

/// What to do to one API request.
struct FaultDecision: Sendable, Equatable {
    enum Outcome: Sendable, Equatable {
        case normal
        case serverError
        case timeout(hang: Duration)
        case lostAnswer(hang: Duration)
    }

    var latency: Duration = .zero
    var outcome: Outcome = .normal
}

/// Holds the fault document and its seeded generator; every random choice the simulator makes
/// (faults, duplicated or reordered webhooks, late failures) is drawn here, under one lock.
final class FaultInjector: Sendable {
    private struct State {
        var document = FaultDocument()
        var generator = SeededGenerator(seed: UInt64.random(in: .min ... .max))
    }

    private let state = Mutex(State())

    var document: FaultDocument { state.withLock { $0.document } }

    func replace(with document: FaultDocument) {
        state.withLock {
            $0.document = document
            $0.generator = SeededGenerator(seed: document.seed ?? UInt64.random(in: .min ... .max))
        }
    }

    func clear() { replace(with: FaultDocument()) }

    /// Rules are tried in order: every matching latency rule adds its delay, the first other
    /// rule that fires decides the outcome. A rule with a `count` uses one up each time it fires.
    func decide(method: String, path: String) -> FaultDecision {
        state.withLock { state in
            var decision = FaultDecision()
            for index in state.document.rules.indices {
                let rule = state.document.rules[index]
                guard rule.matches(method: method, path: path), rule.count.map({ $0 > 0 }) ?? true else { continue }
                if rule.kind != .latency, decision.outcome != .normal { continue }
                guard state.generator.chance(rule.rate ?? 1) else { continue }
                if let count = rule.count { state.document.rules[index].count = count - 1 }
                let hang = rule.hangMs.map { Duration.milliseconds($0) } ?? FaultDocument.defaultHang
                switch rule.kind {
                case .latency: decision.latency += .milliseconds(rule.latencyMs ?? 0)
                case .serverError: decision.outcome = .serverError
                case .timeout: decision.outcome = .timeout(hang: hang)
                case .lostAnswer: decision.outcome = .lostAnswer(hang: hang)
                }
            }
            return decision
        }
    }

    /// How many times to deliver a new event (2 when the duplicate fault fires), and after how long.
    func webhookCopies() -> (copies: Int, delay: Duration) {
        state.withLock { state in
            let webhooks = state.document.webhooks
            let duplicate = state.generator.chance(webhooks?.duplicateRate ?? 0)
            return (duplicate ? 2 : 1, .milliseconds(webhooks?.delayMs ?? 0))
        }
    }

    /// `items` shuffled when the reorder fault is on, else as they are.
    func reorder<Item: Sendable>(_ items: [Item]) -> [Item] {
        state.withLock { state in
            guard state.document.webhooks?.reorder == true, items.count > 1 else { return items }
            return items.shuffled(using: &state.generator)
        }
    }

    enum LateFailure { case refund, payout }

    /// When a late failure of this kind fires, how long after the success it comes.
    func lateFailure(_ kind: LateFailure) -> Duration? {
        state.withLock { state in
            let late = state.document.lateFailures
            let rate = switch kind {
            case .refund: late?.refundRate ?? 0
            case .payout: late?.payoutRate ?? 0
            }
            guard state.generator.chance(rate) else { return nil }
            return late?.delayMs.map { .milliseconds($0) } ?? FaultDocument.defaultLateFailureDelay
        }
    }
}
