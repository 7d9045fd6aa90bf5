import Foundation
import Persistence
import PostgresNIO
import Testing

@testable import Messaging

@Suite struct PartitionQueuesTests {
    private func message(_ partition: Int32, _ offset: Int64) -> ConsumedMessage {
        ConsumedMessage(topic: "t", partition: partition, offset: offset, key: nil, value: [], headers: [:])
    }

    @Test func aFailedHeadHoldsItsPartitionUntilDueAndNothingBehindItIsReady() {
        var queues = PartitionQueues()
        let start = ContinuousClock.now
        for offset in 0..<3 { queues.enqueue(message(0, Int64(offset))) }
        queues.enqueue(message(1, 0))
        queues.finished(message(0, 0))
        queues.failed(message(0, 1), kind: .transient, error: "x", at: start, retryIn: .seconds(1))
        #expect(queues.ready(at: start, limit: 10).map(\.partition) == [1])
        #expect(queues.ready(at: start + .seconds(1), limit: 10).map(\.offset) == [1, 2, 0])
        #expect(queues.attempts(for: message(0, 1)) == 1)
        #expect(queues.pauseChanges.pause == [TopicPartition(topic: "t", partition: 0)])
        queues.setPaused(TopicPartition(topic: "t", partition: 0), true)
        queues.failed(message(0, 1), kind: .transient, error: "x", at: start, retryIn: .seconds(1))
        #expect(queues.attempts(for: message(0, 1)) == 2)
        queues.finished(message(0, 1))
        #expect(queues.failures.isEmpty)
        #expect(queues.pauseChanges.resume == [TopicPartition(topic: "t", partition: 0)])
    }

    @Test func aMessageHandedOutAgainAfterARebalanceIsNotQueuedTwice() {
        var queues = PartitionQueues()
        let added = [5, 5, 3, 6].map { queues.enqueue(message(0, $0)) }
        #expect(added == [true, false, false, true])
    }

    @Test func partitionsAreTakenInOneOrderByTopicThenPartitionNumber() {
        var queues = PartitionQueues()
        for (topic, partition) in [("b", 0), ("a", 10), ("a", 2)] {
            queues.enqueue(ConsumedMessage(topic: topic, partition: Int32(partition), offset: 0, key: nil, value: [], headers: [:]))
        }
        #expect(queues.ready(at: .now, limit: 10).map { "\($0.topic)/\($0.partition)" } == ["a/2", "a/10", "b/0"])
        #expect(queues.ready(at: .now, limit: 2).count == 2)
    }

    @Test func poisonIsOnlyWhatNoRetryCanFix() {
        #expect(EventConsumer.classify(EventRejected("no")) == .poison)
        #expect(EventConsumer.classify(DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x"))) == .poison)
        #expect(EventConsumer.classify(PersistenceError(code: "x", message: "y", isRetriable: true)) == .transient)
        struct Bug: Error {}
        #expect(EventConsumer.classify(Bug()) == .unclassified)
    }
}
