import CRdKafka
import EventContracts
import Foundation
import NIOPosix
import Synchronization

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
    /// Set on the consumer's thread just before the handle is freed; work queued behind the close checks it.
    private let destroyed = Atomic<Bool>(false)

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
            // A dead member is noticed in 10 s (librdkafka's 45 s default kept a killed service's
            // partitions idle for over a minute); the loop polls between batches and never blocks
            // on a failing event, so 30 s between polls means it is stuck.
            "session.timeout.ms": "10000",
            "heartbeat.interval.ms": "1000",
            "max.poll.interval.ms": "30000",
            // librdkafka prefetches up to 64 MB per consumer (the default): a consumer that falls
            // behind under load (NotificationService in the 10-minute benchmark) grew by that
            // much. 8 MB is still thousands of events ahead of a 100-event batch.
            "queued.max.messages.kbytes": "8192",
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
        try await poll(maximum: 1, timeout: timeout).first
    }

    /// Waits up to `timeout` for a message, then takes what else is already fetched without
    /// waiting, up to `maximum` messages in all; empty when none arrived. One trip to the
    /// consumer's thread for the lot (a trip per message was two thread wake-ups each). An error
    /// report behind some messages ends the batch early (the messages are returned; the report,
    /// like any other, is only informational); one in first place is thrown.
    public func poll(maximum: Int, timeout: Duration) async throws -> [ConsumedMessage] {
        let handle = self.handle
        let milliseconds = Int32(clamping: timeout.inMilliseconds)
        return try await thread.runIfActive { () throws -> [ConsumedMessage] in
            var messages: [ConsumedMessage] = []
            while messages.count < maximum,
                  let message = rd_kafka_consumer_poll(handle.pointer, messages.isEmpty ? milliseconds : 0)
            {
                defer { rd_kafka_message_destroy(message) }
                let error = message.pointee.err
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    if messages.isEmpty { throw KafkaError(error, context: "consume") }
                    break
                }
                messages.append(ConsumedMessage(copying: message))
            }
            return messages
        }
    }

    /// Records that messages are finished, in one call: per partition, the offset after the
    /// highest of them (the caller finishes a partition's messages in order). The next background
    /// commit includes them.
    public func markDone(_ messages: [ConsumedMessage]) throws {
        var next: [TopicPartition: Int64] = [:]
        for message in messages {
            let key = message.topicPartition
            next[key] = max(next[key] ?? 0, message.offset + 1)
        }
        guard !next.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(clamping: next.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (key, offset) in next {
            rd_kafka_topic_partition_list_add(list, key.topic, key.partition)!.pointee.offset = offset
        }
        let error = rd_kafka_offsets_store(handle.pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(error, context: "store offsets \(next.map { "\($0.key)@\($0.value - 1)" }.sorted())")
        }
    }

    /// Stops fetching a partition (what was fetched but not handed out is dropped, and fetching
    /// resumes after the last message handed out).
    func pause(_ partition: TopicPartition) async throws {
        try await pauseOrResume(partition, pause: true)
    }

    func resume(_ partition: TopicPartition) async throws {
        try await pauseOrResume(partition, pause: false)
    }

    private func pauseOrResume(_ partition: TopicPartition, pause: Bool) async throws {
        let handle = self.handle
        try await thread.runIfActive {
            guard !self.destroyed.load(ordering: .sequentiallyConsistent) else { return }
            let list = rd_kafka_topic_partition_list_new(1)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let entry = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
            let error = pause ? rd_kafka_pause_partitions(handle.pointer, list) : rd_kafka_resume_partitions(handle.pointer, list)
            let result = error == RD_KAFKA_RESP_ERR_NO_ERROR ? entry.pointee.err : error
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(result, context: "\(pause ? "pause" : "resume") \(partition)")
            }
        }
    }

    /// Leaves the group after committing stored offsets, then frees the handle.
    public func close() async {
        let handle = self.handle
        _ = try? await thread.runIfActive {
            _ = rd_kafka_consumer_close(handle.pointer)
            self.destroyed.store(true, ordering: .sequentiallyConsistent)
            rd_kafka_destroy(handle.pointer)
        }
        try? await thread.shutdownGracefully()
    }
}

extension ConsumedMessage {
    /// The partition the message came from, the unit of its order.
    var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

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

extension KafkaConsumer {
    /// Lag of each assigned partition: the high watermark (cached from the last fetch, no broker
    /// round trip) minus the position of the next message to hand out. Before a partition has
    /// handed anything out since assignment, its committed offset (asked of the broker, 2 s at
    /// most) stands in for the position, or the low watermark when nothing was committed yet.
    /// Read in the one trip to the consumer's thread, which also counts the partitions assigned
    /// (nil once closed).
    func assignment() async -> ConsumerMonitor.Assignment? {
        let handle = self.handle
        let result = try? await thread.runIfActive { () -> ConsumerMonitor.Assignment? in
            guard !self.destroyed.load(ordering: .sequentiallyConsistent) else { return nil }
            var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle.pointer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return nil }
            defer { rd_kafka_topic_partition_list_destroy(assignment) }
            let assigned = Int(assignment.pointee.cnt)
            guard assigned > 0, rd_kafka_position(handle.pointer, assignment) == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return ConsumerMonitor.Assignment(partitions: assigned, lags: [])
            }
            let positions = (0..<assigned).map { assignment.pointee.elems[$0].offset }
            guard let committed = rd_kafka_topic_partition_list_copy(assignment) else {
                return ConsumerMonitor.Assignment(partitions: assigned, lags: [])
            }
            defer { rd_kafka_topic_partition_list_destroy(committed) }
            if positions.contains(where: { $0 < 0 }) {
                _ = rd_kafka_committed(handle.pointer, committed, 2000)
            }
            var lags: [ConsumerMonitor.PartitionLag] = []
            for index in 0..<assigned {
                let entry = assignment.pointee.elems[index]
                var low: Int64 = -1
                var high: Int64 = -1
                guard rd_kafka_get_watermark_offsets(handle.pointer, entry.topic, entry.partition, &low, &high)
                    == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0
                else { continue }
                let stored = committed.pointee.elems[index].offset
                let position = positions[index] >= 0 ? positions[index] : (stored >= 0 ? stored : max(low, 0))
                lags.append(.init(topic: String(cString: entry.topic), partition: entry.partition, lag: max(0, high - position)))
            }
            return ConsumerMonitor.Assignment(partitions: assigned, lags: lags)
        }
        return result ?? nil
    }
}
