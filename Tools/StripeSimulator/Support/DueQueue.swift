import Persistence
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
    /// Wakes the taker when something is added (it may be due sooner than what it waits for).
    private let added = WakeSignal()

    func add(_ item: Item, after delay: Duration = .zero, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.entries.append(Entry(item: item, due: now + delay, sequence: state.nextSequence))
            state.nextSequence += 1
        }
        added.signal()
    }

    /// Adds an item back with its original place in line, e.g. a webhook to retry.
    func readd(_ entry: Entry, due: ContinuousClock.Instant) {
        state.withLock { $0.entries.append(Entry(item: entry.item, due: due, sequence: entry.sequence)) }
        added.signal()
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

    /// Waits until something is due and takes it: it sleeps until the earliest entry is due, or
    /// until an entry is added (idle, it does not wake at all for a minute).
    func nextDue() async throws -> [Entry] {
        while true {
            let now = ContinuousClock.now
            let due = takeDue(now: now)
            if !due.isEmpty { return due }
            let earliest = state.withLock { $0.entries.map(\.due).min() }
            try await added.wait(upTo: earliest.map { max(.zero, $0 - now) } ?? .seconds(60))
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    func items() -> [Item] { state.withLock { $0.entries.map(\.item) } }

    func removeAll() { state.withLock { $0.entries.removeAll() } }
}
