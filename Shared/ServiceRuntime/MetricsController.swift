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
        registry: PrometheusCollectorRegistry, postgres: PostgresClient, monitor: ConsumerMonitor, collectors: [GaugeCollector],
        logger: Logger
    ) {
        self.registry = registry
        let collectors = [Self.outbox(postgres, logger)] + collectors
        gauges = GaugeCache(ttl: Self.gaugeTTL) {
            var families = [Self.lagFamily(await monitor.lag())]
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
    private static func outbox(_ postgres: PostgresClient, _ logger: Logger) -> GaugeCollector {
        {
            let rows = try await postgres.query(
                """
                SELECT count(*)::int8, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
                FROM outbox WHERE published_at IS NULL
                """, logger: logger
            ).decode((Int64, Double).self).all()
            let (count, age) = rows.first ?? (0, 0)
            return [
                GaugeFamily(name: "outbox_unpublished_events", help: "Outbox rows not yet published to the broker.", samples: [.init(value: Double(count))]),
                GaugeFamily(
                    name: "outbox_oldest_unpublished_age_seconds", help: "Age of the oldest unpublished outbox row (0 when none).",
                    samples: [.init(value: age)]),
            ]
        }
    }

    static func lagFamily(_ lags: [ConsumerMonitor.PartitionLag]) -> GaugeFamily {
        GaugeFamily(
            name: "kafka_consumer_lag_messages",
            help: "Messages behind the high watermark, per assigned partition (none while unassigned).",
            samples: lags.map { .init(labels: [("topic", $0.topic), ("partition", "\($0.partition)")], value: Double($0.lag)) })
    }
}
