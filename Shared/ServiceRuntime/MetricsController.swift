import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Messaging
import Persistence
import PostgresNIO
import Prometheus

/// `GET /metrics` in the Prometheus text format, without authentication (keep the port off the
/// public internet): the registry's counters and histograms (HTTP requests per route, events
/// consumed and dead-lettered), then gauges read at scrape time: outbox backlog and age,
/// consumer lag per partition, and the service's own domain gauges. The gauges are at most
/// `gaugeTTL` old, so however often scrapes come, the database and the consumer's thread
/// answer one round of questions per `gaugeTTL`.
struct MetricsController {
    static let gaugeTTL: Duration = .seconds(5)

    let registry: PrometheusCollectorRegistry
    let gauges: GaugeCache

    init(
        registry: PrometheusCollectorRegistry, postgres: PostgresClient, monitor: ConsumerMonitor, relay: RelayStatus,
        collectors: [GaugeCollector], logger: Logger
    ) {
        self.registry = registry
        let collectors = [Self.outbox(postgres, relay, logger)] + collectors
        gauges = GaugeCache(ttl: Self.gaugeTTL) {
            let assignment = await monitor.assignment()
            var families = [Self.lagFamily(assignment?.lags ?? []), Self.assignedFamily(assignment?.partitions)]
                + Self.heldFamilies(monitor.held())
            for collector in collectors {
                do {
                    families += try await collector()
                } catch {
                    // One failing source must not hide the others; its gauges are simply absent.
                    logger.warning("metrics collector failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            return families
        }
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/metrics") { _, _ in await scrape() }
    }

    func scrape() async -> Response {
        var text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        for family in await gauges.families() { family.render(into: &text) }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Unpublished outbox rows and the age of the oldest: a growing age means the relay is stuck.
    private static func outbox(_ postgres: PostgresClient, _ relay: RelayStatus, _ logger: Logger) -> GaugeCollector {
        {
            let rows = try await postgres.query(
                """
                SELECT count(*)::int8, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
                FROM outbox WHERE published_at IS NULL
                """, logger: logger
            ).decode((Int64, Double).self).all()
            let (count, age) = rows.first ?? (0, 0)
            let deferred = try await postgres.query(
                """
                SELECT count(*)::int8, COALESCE(EXTRACT(EPOCH FROM now() - min(deferred_at)), 0)::float8 FROM deferred_events
                """, logger: logger
            ).decode((Int64, Double).self).all().first ?? (Int64(0), Double(0))
            return [
                GaugeFamily(name: "outbox_unpublished_events", help: "Outbox rows not yet published to the broker.", samples: [.init(value: Double(count))]),
                GaugeFamily(
                    name: "outbox_oldest_unpublished_age_seconds", help: "Age of the oldest unpublished outbox row (0 when none).",
                    samples: [.init(value: age)]),
                GaugeFamily(
                    name: "events_deferred", help: "Events waiting for a prerequisite from another topic (deferred_events).",
                    samples: [.init(value: Double(deferred.0))]),
                GaugeFamily(
                    name: "events_deferred_oldest_age_seconds", help: "Age of the oldest deferred event (0 when none): one that never resumes is stuck.",
                    samples: [.init(value: deferred.1)]),
                GaugeFamily(
                    name: "outbox_relay_active", help: "1 when this instance's relay holds the lock and publishes the outbox.",
                    samples: [.init(value: relay.isActive ? 1 : 0)]),
            ]
        }
    }

    /// Partitions the consumer holds back on a failing message: a stalled partition is the first
    /// thing to look at when events stop arriving.
    static func heldFamilies(_ held: [ConsumerMonitor.HeldPartition]) -> [GaugeFamily] {
        let labels = { (held: ConsumerMonitor.HeldPartition) in
            [("topic", held.topic), ("partition", "\(held.partition)"), ("failure", held.kind)]
        }
        return [
            GaugeFamily(
                name: "kafka_consumer_stalled_partitions", help: "Partitions held back by a message that keeps failing.",
                samples: [.init(value: Double(held.count))]),
            GaugeFamily(
                name: "kafka_consumer_oldest_unhandled_age_seconds",
                help: "Per held partition: seconds since its first unhandled message first failed.",
                samples: held.map { .init(labels: labels($0), value: $0.heldSeconds) }),
            GaugeFamily(
                name: "kafka_consumer_retry_attempts", help: "Per held partition: failed attempts at its first unhandled message.",
                samples: held.map { .init(labels: labels($0), value: Double($0.attempts)) }),
        ]
    }

    /// No sample while no consumer runs: an instance starting up is not an instance left out.
    static func assignedFamily(_ assigned: Int?) -> GaugeFamily {
        GaugeFamily(
            name: "kafka_consumer_assigned_partitions",
            help: "Partitions the consumer group has assigned to this instance (0 for every instance: nothing consumes).",
            samples: assigned.map { [.init(value: Double($0))] } ?? [])
    }

    static func lagFamily(_ lags: [ConsumerMonitor.PartitionLag]) -> GaugeFamily {
        GaugeFamily(
            name: "kafka_consumer_lag_messages",
            help: "Messages behind the high watermark, per assigned partition (none while unassigned).",
            samples: lags.map { .init(labels: [("topic", $0.topic), ("partition", "\($0.partition)")], value: Double($0.lag)) })
    }
}
