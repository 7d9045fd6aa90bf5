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

    struct Status: ResponseEncodable {
        var status: String
        var checks: [String: String]
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/health/live") { _, _ in Status(status: "ok", checks: [:]) }
        router.get("/health/ready") { _, context in try await ready(context: context) }
    }

    private func ready(context: AppRequestContext) async throws -> Response {
        async let database = checkDatabase(logger: context.logger)
        async let broker = producer.isBrokerReachable(timeout: .seconds(2))
        let checks = [
            "migrations": gate.isOpen ? "ok" : "pending",
            "database": await database ? "ok" : "unreachable",
            "broker": await broker ? "ok" : "unreachable",
        ]
        let ready = checks.values.allSatisfy { $0 == "ok" }
        let body = try EventCoding.encoder.encode(Status(status: ready ? "ready" : "not_ready", checks: checks))
        return Response(
            status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func checkDatabase(logger: Logger) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await postgres.query("SELECT 1", logger: logger).collect()) != nil }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
