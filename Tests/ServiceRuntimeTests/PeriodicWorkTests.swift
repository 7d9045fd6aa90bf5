import Logging
import Persistence
import ServiceRuntime
import Synchronization
import Testing

/// Passes counted across tasks.
private final class PassCount: Sendable {
    private let value = Atomic(0)
    func add() { value.add(1, ordering: .relaxed) }
    func load() -> Int { value.load(ordering: .relaxed) }
}

@Suite struct PeriodicWorkTests {
    /// Runs `runPeriodically` for `seconds` and returns how many passes it made.
    private func passes(
        every interval: Duration, for duration: Duration, wakeups: AsyncStream<Void>? = nil,
        during: @escaping @Sendable (PassCount) async throws -> Void = { _ in }
    ) async throws -> Int {
        let count = PassCount()
        let logger = Logger(label: "periodic-test")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await runPeriodically(every: interval, wakeups: wakeups, logger: logger, failure: "pass failed") {
                    count.add()
                }
            }
            group.addTask {
                try await during(count)
                try await Task.sleep(for: duration)
            }
            _ = try await group.next()
            group.cancelAll()
        }
        return count.load()
    }

    @Test func anIdleLoopWithWakeupsPassesOncePerInterval() async throws {
        // The wake-up stream used to finish after the first tick the sleep won, and every later
        // tick then returned at once: a hot loop of thousands of passes a second.
        let (wakeups, _wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let count = try await passes(every: .milliseconds(200), for: .seconds(2), wakeups: wakeups)
        withExtendedLifetime(_wake) {}
        #expect(count >= 5)
        #expect(count <= 14)
    }

    @Test func aWakeupAfterIdleTicksStillRunsAPassAtOnce() async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let reached = try await passes(every: .milliseconds(300), for: .zero, wakeups: wakeups) { count in
            // Let several sleeps win first, then switch to wake-ups only being able to explain passes.
            try await Task.sleep(for: .seconds(1))
            for _ in 0..<3 {
                let before = count.load()
                wake.yield()
                let deadline = ContinuousClock.now + .milliseconds(250)
                while count.load() == before, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                #expect(count.load() > before, "a wake-up must run a pass before the next tick")
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(reached <= 15)
    }

    @Test func aSignalSentWhileNobodyWaitsIsKeptForTheNextWait() async throws {
        let signal = WakeSignal()
        signal.signal()
        let start = ContinuousClock.now
        try await signal.wait(upTo: .seconds(5))
        #expect(ContinuousClock.now - start < .seconds(1))
        let again = ContinuousClock.now
        try await signal.wait(upTo: .milliseconds(200))
        #expect(ContinuousClock.now - again >= .milliseconds(150))
    }

    /// A pass that never answers (a query on a connection whose server went away) used to stop
    /// the loop for good, and its service's shutdown with it.
    @Test func aPassThatNeverAnswersIsAbandonedAndTheLoopGoesOn() async throws {
        let count = PassCount()
        let logger = Logger(label: "periodic-test")
        var cancelled = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await runPeriodically(every: .milliseconds(50), passTimeout: .milliseconds(300), logger: logger, failure: "pass failed") {
                    count.add()
                    if count.load() == 1 { await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in } }
                }
            }
            // Waits for the passes rather than a fixed second: under the whole suite's load on two
            // cores, one second after a 300-ms timeout was sometimes too short (CI saw one pass).
            group.addTask {
                let deadline = ContinuousClock.now + .seconds(15)
                while count.load() < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            }
            _ = try await group.next()
            cancelled = ContinuousClock.now
            group.cancelAll()
        }
        #expect(count.load() >= 3, "passes after the hung one")
        #expect(ContinuousClock.now - cancelled < .seconds(2), "cancelled while a pass hung, the loop still stops")
    }
}
