import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Messaging
import PostgresNIO

/// `GET /health/live` (the process answers) and `GET /health/ready` (migrated, Postgres and
/// the broker reachable); readiness answers 503 with the failing checks.
struct HealthController {
    let postgres: PostgresClient
    let producer: KafkaProducer
    let gate: StartupGate
    let relay: RelayStatus

    struct Status: ResponseEncodable {
        var status: String
        var checks: [String: String]
        /// Informational: whether this instance publishes the outbox (one instance does) and how
        /// old the oldest unpublished event is; a growing age means no relay publishes.
        var outbox: Outbox?
    }

    struct Outbox: Encodable {
        var relayActive: Bool
        var oldestUnpublishedSeconds: Double?
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/health/live") { _, _ in Status(status: "ok", checks: [:], outbox: nil) }
        router.get("/health/ready") { _, context in try await ready(context: context) }
    }

    private func ready(context: AppRequestContext) async throws -> Response {
        async let database = probeDatabase(logger: context.logger)
        async let broker = producer.isBrokerReachable(timeout: .seconds(2))
        let checks = [
            "migrations": gate.isOpen ? "ok" : "pending",
            "database": await database.reachable ? "ok" : "unreachable",
            "broker": await broker ? "ok" : "unreachable",
        ]
        let ready = checks.values.allSatisfy { $0 == "ok" }
        let outbox = Outbox(relayActive: relay.isActive, oldestUnpublishedSeconds: await database.oldestUnpublished)
        let body = try EventCoding.encoder.encode(Status(status: ready ? "ready" : "not_ready", checks: checks, outbox: outbox))
        return Response(
            status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Reachable within 2 s; once migrated, the probe also reads the outbox's oldest unpublished
    /// age. Not awaited past the 2 s: a query on a connection whose server went away may never
    /// answer, and readiness must still say so.
    private func probeDatabase(logger: Logger) async -> (reachable: Bool, oldestUnpublished: Double?) {
        let migrated = gate.isOpen
        let postgres = self.postgres
        // An array, not an optional: try? would fold "no age yet" into "no answer".
        let probe = try? await Detached.run(timeout: .seconds(2)) { () -> [Double] in
            guard migrated else {
                _ = try await postgres.query("SELECT 1", logger: logger).collect()
                return []
            }
            return try await postgres.query(
                "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 FROM outbox WHERE published_at IS NULL",
                logger: logger
            ).decode(Double.self).all()
        }
        guard let probe else { return (false, nil) }
        return (true, probe.first)
    }
}
