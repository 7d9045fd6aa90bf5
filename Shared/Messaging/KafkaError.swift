import CRdKafka
import Persistence

/// An error from librdkafka or from our use of it.
public struct KafkaError: RetriableError, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    /// True when trying the same operation again later may succeed (broker down, timeouts).
    public var isRetriable: Bool

    public init(code: Int32, message: String, isRetriable: Bool) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
    }

    init(_ error: rd_kafka_resp_err_t, context: String) {
        let name = String(cString: rd_kafka_err2str(error))
        self.init(code: error.rawValue, message: "\(context): \(name)", isRetriable: Self.isTransient(error))
    }

    static func configuration(_ message: String) -> KafkaError {
        KafkaError(code: -1, message: message, isRetriable: false)
    }

    private static func isTransient(_ error: rd_kafka_resp_err_t) -> Bool {
        switch error {
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
             RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__QUEUE_FULL,
             RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
             RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
            return true
        default:
            return false
        }
    }

    public var description: String { "KafkaError(\(code)): \(message)" }
}
