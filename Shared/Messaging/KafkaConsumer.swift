import CRdKafka
import Foundation
import NIOPosix

/// A message as read from the broker, copied out of librdkafka's memory.
public struct ConsumedMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: String?
    public var value: [UInt8]
    public var headers: [String: String]
}

/// A group consumer with at-least-once semantics: offsets are only stored (and then committed
/// in the background) for messages the caller marks as done with `markDone`.
public final class KafkaConsumer: Sendable {
    private let handle: SendableOpaquePointer
    /// One dedicated thread for the blocking poll and close calls.
    private let thread: NIOThreadPool

    public init(configuration: KafkaConfiguration, groupId: String, topics: [String]) throws {
        var properties: [String: String] = [
            "bootstrap.servers": configuration.brokers,
            "client.id": configuration.clientId,
            "group.id": groupId,
            "enable.auto.commit": "true",
            "auto.commit.interval.ms": "500",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": "earliest",
            "enable.partition.eof": "false",
            // Tansu answers a fetch only when its wait expires, even if data arrived sooner, so a
            // long wait is pure latency; against Apache Kafka a short wait costs idle fetches only.
            "fetch.wait.max.ms": "5",
        ]
        properties.merge(configuration.properties) { _, override in override }
        properties.merge(configuration.consumerProperties) { _, override in override }
        let conf = try RdKafka.makeConfiguration(properties)
        let pointer = try RdKafka.makeHandle(RD_KAFKA_CONSUMER, configuration: conf)
        rd_kafka_poll_set_consumer(pointer)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let error = rd_kafka_subscribe(pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(pointer)
            throw KafkaError(error, context: "subscribe to \(topics)")
        }
        self.handle = SendableOpaquePointer(pointer: pointer)
        self.thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
    }

    /// Waits up to `timeout` for the next message; nil when none arrived.
    public func poll(timeout: Duration = .milliseconds(100)) async throws -> ConsumedMessage? {
        let handle = self.handle
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await thread.runIfActive { () throws -> ConsumedMessage? in
            guard let message = rd_kafka_consumer_poll(handle.pointer, milliseconds) else { return nil }
            defer { rd_kafka_message_destroy(message) }
            let error = message.pointee.err
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(error, context: "consume")
            }
            return ConsumedMessage(copying: message)
        }
    }

    /// Records that a message is finished; the next background commit includes it.
    public func markDone(_ message: ConsumedMessage) throws {
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, message.topic, message.partition)!
        entry.pointee.offset = message.offset + 1
        let error = rd_kafka_offsets_store(handle.pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(error, context: "store offset \(message.topic)/\(message.partition)@\(message.offset)")
        }
    }

    /// Leaves the group after committing stored offsets, then frees the handle.
    public func close() async {
        let handle = self.handle
        _ = try? await thread.runIfActive {
            _ = rd_kafka_consumer_close(handle.pointer)
            rd_kafka_destroy(handle.pointer)
        }
        try? await thread.shutdownGracefully()
    }
}

extension ConsumedMessage {
    init(copying message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let raw = message.pointee
        topic = String(cString: rd_kafka_topic_name(raw.rkt))
        partition = raw.partition
        offset = raw.offset
        if let payload = raw.payload {
            value = Array(UnsafeRawBufferPointer(start: payload, count: raw.len))
        } else {
            value = []
        }
        key = raw.key.map {
            String(decoding: UnsafeRawBufferPointer(start: $0, count: raw.key_len), as: UTF8.self)
        }
        headers = [:]
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers[String(cString: name)] = value.map {
                        String(decoding: UnsafeRawBufferPointer(start: $0, count: size), as: UTF8.self)
                    } ?? ""
                }
                index += 1
            }
        }
    }
}
