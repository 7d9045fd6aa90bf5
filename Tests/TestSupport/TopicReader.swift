import Foundation
import Messaging

/// Reads a topic from the start with a throwaway group, for assertions on what was published.
public enum TopicReader {
    public static func read(
        _ topic: String, until count: Int, timeout: Duration = .seconds(30), brokers: String? = nil
    ) async throws -> [ConsumedMessage] {
        try await read(topic, timeout: timeout, brokers: brokers) { $0.count >= count }
    }

    /// Reads until `done` says the messages so far are enough (e.g. every id seen, duplicates
    /// included), or the timeout passes.
    public static func read(
        _ topic: String, timeout: Duration = .seconds(30), brokers: String? = nil, until done: ([ConsumedMessage]) -> Bool
    ) async throws -> [ConsumedMessage] {
        let consumer = try KafkaConsumer(
            configuration: TestEnvironment.kafka(clientId: "reader", brokers: brokers),
            groupId: TestEnvironment.uniqueName("reader"), topics: [topic])
        var messages: [ConsumedMessage] = []
        let deadline = ContinuousClock.now + timeout
        while !done(messages), ContinuousClock.now < deadline {
            if let message = try? await consumer.poll() { messages.append(message) }
        }
        await consumer.close()
        return messages
    }
}
