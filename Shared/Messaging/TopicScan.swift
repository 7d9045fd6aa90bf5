import CRdKafka
import EventContracts
import NIOPosix

/// Reads what a topic holds right now, every partition from its start to its high watermark,
/// without joining a consumer group (for operators: dead letters to list and replay).
public enum TopicScan {
    public static func read(
        _ topic: String, configuration: KafkaConfiguration, limit: Int = 1000, timeout: Duration = .seconds(10)
    ) async throws -> [ConsumedMessage] {
        let milliseconds = Int32(clamping: timeout.inMilliseconds)
        return try await NIOThreadPool.singleton.runIfActive {
            var properties: [String: String] = [
                "bootstrap.servers": configuration.brokers, "client.id": configuration.clientId + "-scan",
                "group.id": "scan-unused", "enable.auto.commit": "false", "enable.partition.eof": "false",
            ]
            properties.merge(configuration.properties) { _, override in override }
            let handle = try RdKafka.makeHandle(RD_KAFKA_CONSUMER, configuration: try RdKafka.makeConfiguration(properties))
            defer {
                _ = rd_kafka_consumer_close(handle)
                rd_kafka_destroy(handle)
            }
            let partitions = try partitionCount(topic, handle: handle, milliseconds: milliseconds)
            let list = rd_kafka_topic_partition_list_new(Int32(partitions))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            var remaining: [Int32: Int64] = [:]
            for partition in 0..<Int32(partitions) {
                var low: Int64 = 0
                var high: Int64 = 0
                let error = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, milliseconds)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, context: "watermarks of \(topic)/\(partition)") }
                guard high > low else { continue }
                rd_kafka_topic_partition_list_add(list, topic, partition)!.pointee.offset = low
                remaining[partition] = high
            }
            guard !remaining.isEmpty else { return [] }
            let assigned = rd_kafka_assign(handle, list)
            guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(assigned, context: "assign \(topic)") }
            var messages: [ConsumedMessage] = []
            let deadline = ContinuousClock.now + timeout
            while !remaining.isEmpty, messages.count < limit, ContinuousClock.now < deadline {
                guard let message = rd_kafka_consumer_poll(handle, 200) else { continue }
                defer { rd_kafka_message_destroy(message) }
                guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let copied = ConsumedMessage(copying: message)
                messages.append(copied)
                if let high = remaining[copied.partition], copied.offset + 1 >= high { remaining[copied.partition] = nil }
            }
            return messages
        }
    }

    private static func partitionCount(_ topic: String, handle: OpaquePointer, milliseconds: Int32) throws -> Int {
        let topicHandle = rd_kafka_topic_new(handle, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 0, topicHandle, &metadata, milliseconds)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(error, context: "metadata of \(topic)") }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return 0 }
        let entry = metadata.pointee.topics[0]
        guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(entry.err, context: "metadata of \(topic)") }
        return Int(entry.partition_cnt)
    }
}
