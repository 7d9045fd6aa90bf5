import CRdKafka

/// librdkafka handles are thread-safe; this wrapper only lets the pointer cross concurrency domains.
struct SendableOpaquePointer: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Small helpers around librdkafka's C API.
enum RdKafka {
    static let minimumVersion: Int32 = 0x0208_00ff

    /// The version of the librdkafka actually loaded at run time (the header check is compile time).
    static var runtimeVersion: String { String(cString: rd_kafka_version_str()) }

    static func checkRuntimeVersion() throws {
        guard rd_kafka_version() >= minimumVersion else {
            throw KafkaError.configuration(
                "librdkafka \(runtimeVersion) loaded; 2.8.0 or newer is required (check LD_LIBRARY_PATH / rpath)")
        }
    }

    /// Builds a configuration object; the caller owns it until it is passed to `rd_kafka_new`.
    static func makeConfiguration(_ properties: [String: String]) throws -> OpaquePointer {
        try checkRuntimeVersion()
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError.configuration("\(key): \(errorText.text)")
            }
        }
        return conf
    }

    static func makeHandle(_ type: rd_kafka_type_t, configuration conf: OpaquePointer) throws -> OpaquePointer {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError.configuration(errorText.text)
        }
        return handle
    }
}

extension [CChar] {
    /// The NUL-terminated text librdkafka wrote into this buffer.
    var text: String {
        withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
