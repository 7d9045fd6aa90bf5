import Foundation
import Logging
import Messaging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// A second process for the messaging tests, configured by environment variables:
/// - `PROBE_MODE=consume`: consumes `PROBE_TOPIC` as group `PROBE_GROUP`, recording every
///   handled event in `handled` (no unique key, so a double effect would show);
/// - `PROBE_MODE=relay`: relays the outbox of `PROBE_SCHEMA`; with `PROBE_CRASH_AFTER_DELIVERY=1`
///   it exits abruptly after the broker acknowledged a batch and before marking it.
@main
struct EventProbe {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        func value(_ name: String) -> String {
            guard let value = environment[name] else {
                FileHandle.standardError.write(Data("EventProbe: \(name) is required\n".utf8))
                exit(64)
            }
            return value
        }
        var logger = Logger(label: "event-probe")
        logger.logLevel = .info
        let schema = value("PROBE_SCHEMA")
        let database = try DatabaseConfiguration(url: value("PROBE_DATABASE_URL"), schema: schema)
        let postgres = PostgresClient(configuration: database.clientConfiguration, backgroundLogger: logger)
        var kafka = KafkaConfiguration(brokers: value("PROBE_BROKERS"), clientId: "event-probe")
        kafka.consumerProperties = KafkaConfiguration.testConsumerProperties
        let producer = try KafkaProducer(configuration: kafka)

        let worker: any Service
        switch value("PROBE_MODE") {
        case "consume":
            let recordEvent = EventHandler(eventType: "probe.recorded") { context in
                try await context.connection.query(
                    "INSERT INTO handled (event_id, aggregate_id) VALUES (\(context.envelope.id), \(context.envelope.aggregateId))",
                    logger: context.logger)
            }
            worker = EventConsumer(
                name: value("PROBE_GROUP"), topics: [value("PROBE_TOPIC")], handlers: [recordEvent],
                client: postgres, kafka: kafka, deadLetters: producer, logger: logger)
        case "relay":
            let crash = environment["PROBE_CRASH_AFTER_DELIVERY"] == "1"
            worker = OutboxRelay(
                client: postgres, schema: schema, producer: producer, logger: logger,
                afterDelivery: { ids in
                    if crash && !ids.isEmpty {
                        FileHandle.standardError.write(Data("EventProbe: crashing after delivering \(ids.count)\n".utf8))
                        exit(3)
                    }
                })
        default:
            FileHandle.standardError.write(Data("EventProbe: PROBE_MODE must be consume or relay\n".utf8))
            exit(64)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: postgres), .init(service: producer), .init(service: worker)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
