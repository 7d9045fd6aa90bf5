import Synchronization

/// Items that become due at a time, taken in due order (then in the order they were added).
/// Shared between the state, which adds, and a background loop, which takes.
final class DueQueue<Item: Sendable>: Sendable {
    struct Entry: Sendable {
        var item: Item
        var due: ContinuousClock.Instant
        var sequence: Int
    }

    private struct State {
        var entries: [Entry] = []
        var nextSequence = 0
    }

    private let state = Mutex(State())

    func add(_ item: Item, after delay: Duration = .zero, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.entries.append(Entry(item: item, due: now + delay, sequence: state.nextSequence))
            state.nextSequence += 1
        }
    }

    /// Adds an item back with its original place in line, e.g. a webhook to retry.
    func readd(_ entry: Entry, due: ContinuousClock.Instant) {
        state.withLock { $0.entries.append(Entry(item: entry.item, due: due, sequence: entry.sequence)) }
    }

    /// Removes and returns every due entry, earliest first.
    func takeDue(now: ContinuousClock.Instant = .now) -> [Entry] {
        state.withLock { state in
            let due = state.entries.filter { $0.due <= now }
            guard !due.isEmpty else { return [] }
            state.entries.removeAll { $0.due <= now }
            return due.sorted { ($0.due, $0.sequence) < ($1.due, $1.sequence) }
        }
    }

    /// Waits until something is due and takes it. It looks every `tick`, so an item added in the
    /// meantime is seen within one tick; simpler than a wake-up signal, and cheap at this scale.
    func nextDue(tick: Duration = .milliseconds(10)) async throws -> [Entry] {
        while true {
            let due = takeDue()
            if !due.isEmpty { return due }
            try await Task.sleep(for: tick)
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    func items() -> [Item] { state.withLock { $0.entries.map(\.item) } }

    func removeAll() { state.withLock { $0.entries.removeAll() } }
}
