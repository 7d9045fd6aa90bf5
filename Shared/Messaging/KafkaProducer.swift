import CRdKafka
import EventContracts
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// One message to publish.
public struct OutgoingMessage: Sendable {
    public var topic: String
    public var key: String
    public var value: [UInt8]
    public var headers: [(String, String)]

    public init(topic: String, key: String, value: [UInt8], headers: [(String, String)] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// An idempotent (acks=all) producer whose `send` returns once the broker has answered for
/// every message. Delivery reports are served by a dedicated poll thread.
public final class KafkaProducer: Service, Sendable {
    private let handle: SendableOpaquePointer
    private let poller: PollThread
    private let closed = Atomic<Bool>(false)

    public init(configuration: KafkaConfiguration) throws {
        var properties: [String: String] = [
            "bootstrap.servers": configuration.brokers,
            "client.id": configuration.clientId,
            "enable.idempotence": "true",
            "acks": "all",
            "linger.ms": "0",
            "message.timeout.ms": "30000",
            "socket.keepalive.enable": "true",
        ]
        properties.merge(configuration.properties) { _, override in override }
        let conf = try RdKafka.makeConfiguration(properties)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let token = message.pointee._private else { return }
            let slot = Unmanaged<DeliverySlot>.fromOpaque(token).takeRetainedValue()
            let error = message.pointee.err
            slot.batch.complete(
                slot.index,
                error == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(error, context: "delivery failed"))
        }
        let handle = SendableOpaquePointer(pointer: try RdKafka.makeHandle(RD_KAFKA_PRODUCER, configuration: conf))
        self.handle = handle
        self.poller = PollThread(name: "kafka-producer-poll") { _ = rd_kafka_poll(handle.pointer, 50) }
    }

    /// Publishes the messages in order and waits for every delivery report; one result per message.
    public func send(_ messages: [OutgoingMessage]) async -> [Result<Void, KafkaError>] {
        guard !messages.isEmpty else { return [] }
        let batch = DeliveryBatch(count: messages.count)
        // A cancelled caller stops waiting (every unanswered message counts as failed); reports
        // that arrive later are dropped. What was handed to librdkafka may still be delivered.
        let errors = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[KafkaError?], Never>) in
                batch.start(continuation)
                produce(messages, batch: batch)
            }
        } onCancel: {
            batch.abandon()
        }
        return errors.map { error in error.map { .failure($0) } ?? .success(()) }
    }

    private func produce(_ messages: [OutgoingMessage], batch: DeliveryBatch) {
        for (index, message) in messages.enumerated() {
            let token = Unmanaged.passRetained(DeliverySlot(batch: batch, index: index)).toOpaque()
            let headers = rd_kafka_headers_new(message.headers.count)
            for (name, value) in message.headers {
                rd_kafka_header_add(headers, name, -1, value, value.utf8.count)
            }
            let result = message.key.withCString { key in
                message.value.withUnsafeBytes { value in
                    em_produce(
                        handle.pointer, message.topic, key, strlen(key), value.baseAddress, value.count, headers, token)
                }
            }
            if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                rd_kafka_headers_destroy(headers)
                Unmanaged<DeliverySlot>.fromOpaque(token).release()
                batch.complete(index, KafkaError(result, context: "produce to \(message.topic) refused"))
            }
        }
    }

    /// Lives until graceful shutdown, then flushes and closes (after the services using it stopped).
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }

    /// True when a broker answered a metadata request within the timeout.
    public func isBrokerReachable(timeout: Duration = .seconds(2)) async -> Bool {
        guard !closed.load(ordering: .acquiring) else { return false }
        let handle = self.handle
        let milliseconds = Int32(clamping: timeout.inMilliseconds)
        return (try? await NIOThreadPool.singleton.runIfActive {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let error = rd_kafka_metadata(handle.pointer, 0, nil, &metadata, max(milliseconds, 100))
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            return error == RD_KAFKA_RESP_ERR_NO_ERROR
        }) ?? false
    }

    /// Waits for outstanding deliveries (bounded), then stops the poll thread and frees the handle.
    /// Safe to call more than once.
    public func shutdown(flushTimeout: Duration = .seconds(5)) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let milliseconds = Int32(clamping: flushTimeout.inMilliseconds)
        _ = rd_kafka_flush(handle.pointer, milliseconds)
        poller.stop()
        rd_kafka_destroy(handle.pointer)
    }
}

/// Collects the delivery reports of one `send` call and resumes it when all have arrived.
final class DeliveryBatch: Sendable {
    private struct State {
        var errors: [KafkaError?]
        var remaining: Int
        var answered: Set<Int> = []
        var abandoned = false
        var continuation: CheckedContinuation<[KafkaError?], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(errors: Array(repeating: nil, count: count), remaining: count, continuation: nil))
    }

    func start(_ continuation: CheckedContinuation<[KafkaError?], Never>) {
        let abandoned = state.withLock { state -> Bool in
            guard !state.abandoned else { return true }
            state.continuation = continuation
            return false
        }
        if abandoned { continuation.resume(returning: Array(repeating: Self.cancelled, count: state.withLock { $0.errors.count })) }
    }

    static let cancelled = KafkaError(code: -2, message: "stopped waiting for the delivery report", isRetriable: true)

    /// The caller stops waiting: it gets a failure for every message not yet answered.
    func abandon() {
        let finished: (CheckedContinuation<[KafkaError?], Never>, [KafkaError?])? = state.withLock { state in
            state.abandoned = true
            guard let continuation = state.continuation else { return nil }
            state.continuation = nil
            let errors = state.errors.enumerated().map { index, error in state.answered.contains(index) ? error : Self.cancelled }
            return (continuation, errors)
        }
        if let (continuation, errors) = finished { continuation.resume(returning: errors) }
    }

    func complete(_ index: Int, _ error: KafkaError?) {
        let finished: (CheckedContinuation<[KafkaError?], Never>, [KafkaError?])? = state.withLock { state in
            state.errors[index] = error
            state.answered.insert(index)
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.errors)
        }
        if let (continuation, errors) = finished { continuation.resume(returning: errors) }
    }
}

/// The per-message token handed to librdkafka and returned in its delivery report.
final class DeliverySlot: Sendable {
    let batch: DeliveryBatch
    let index: Int

    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}

/// A dedicated OS thread running a blocking librdkafka call in a loop, kept off the
/// cooperative thread pool (which has only as many threads as cores).
final class PollThread: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while self.running.load(ordering: .acquiring) { body() }
            self.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    func stop() {
        running.store(false, ordering: .releasing)
        finished.wait()
    }
}
