import Testing

@testable import Messaging

@Suite struct DetachedTests {
    /// Work that never answers and ignores cancellation, like a query on a connection whose
    /// server went away.
    private static func hang() async -> Int {
        await withCheckedContinuation { (_: CheckedContinuation<Int, Never>) in }
    }

    @Test func theWorksValueAndErrorComeBack() async throws {
        #expect(try await Detached.run(timeout: .seconds(5)) { 42 } == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await Detached.run { throw Boom() } }
    }

    @Test func workThatNeverAnswersIsAbandonedAtTheTimeout() async throws {
        let start = ContinuousClock.now
        await #expect(throws: Detached.TimedOut.self) { try await Detached.run(timeout: .milliseconds(200)) { await Self.hang() } }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func aCancelledWaiterStopsWaitingForWorkThatNeverAnswers() async throws {
        let start = ContinuousClock.now
        let waiter = Task { try await Detached.run { await Self.hang() } }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}
