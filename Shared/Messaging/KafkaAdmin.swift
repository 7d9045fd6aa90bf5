import CRdKafka
import EventContracts
import NIOPosix

/// Topic administration, used by tests and tooling to create isolated topics.
public enum KafkaAdmin {
    /// Creates the topics (an existing topic is fine) with the given partition count.
    public static func createTopics(
        _ names: [String], partitions: Int32, configuration: KafkaConfiguration, timeout: Duration = .seconds(15)
    ) async throws {
        let conf = try RdKafka.makeConfiguration(
            ["bootstrap.servers": configuration.brokers, "client.id": configuration.clientId])
        let handle = SendableOpaquePointer(pointer: try RdKafka.makeHandle(RD_KAFKA_PRODUCER, configuration: conf))
        let milliseconds = Int32(clamping: timeout.inMilliseconds)
        try await NIOThreadPool.singleton.runIfActive {
            defer { rd_kafka_destroy(handle.pointer) }
            var errorText = [CChar](repeating: 0, count: 512)
            var topics: [OpaquePointer?] = names.map {
                rd_kafka_NewTopic_new($0, partitions, -1, &errorText, errorText.count)
            }
            defer { topics.forEach { rd_kafka_NewTopic_destroy($0) } }
            let queue = rd_kafka_queue_new(handle.pointer)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, errorText.count)
            rd_kafka_CreateTopics(handle.pointer, &topics, topics.count, options, queue)
            guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
                throw KafkaError(code: -1, message: "create topics timed out", isRetriable: true)
            }
            defer { rd_kafka_event_destroy(event) }
            let error = rd_kafka_event_error(event)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, context: "create topics") }
            var count = 0
            let result = rd_kafka_event_CreateTopics_result(event)
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for index in 0..<count {
                let topicError = rd_kafka_topic_result_error(results[index])
                if topicError != RD_KAFKA_RESP_ERR_NO_ERROR && topicError != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                    let name = String(cString: rd_kafka_topic_result_name(results[index]))
                    throw KafkaError(topicError, context: "create topic \(name)")
                }
            }
        }
    }
}
