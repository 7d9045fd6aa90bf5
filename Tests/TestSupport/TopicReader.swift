import Foundation
import Messaging

/// Reads a topic from the start with a throwaway group, for assertions on what was published.
public enum TopicReader {
    public static func read(
        _ topic: String, until count: Int, timeout: Duration = .seconds(30), brokers: String? = nil
    ) async throws -> [ConsumedMessage] {
        let consumer = try KafkaConsumer(
            configuration: TestEnvironment.kafka(clientId: "reader", brokers: brokers),
            groupId: TestEnvironment.uniqueName("reader"), topics: [topic])
        var messages: [ConsumedMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count, ContinuousClock.now < deadline {
            if let message = try? await consumer.poll() { messages.append(message) }
        }
        await consumer.close()
        return messages
    }
}
