import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// `POST /api/v1/admin/reconciliation` runs a reconciliation and returns its report;
/// `GET /api/v1/admin/reconciliation` returns the latest one.
struct ReconciliationController: Sendable {
    let reconciler: Reconciler
    let postgres: PostgresClient

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("admin/reconciliation") { _, context in
            let admin = try context.requireRole(.admin)
            let report = try await reconciler.run(requestedBy: admin.id, cause: Cause(correlationId: context.requestId, causationId: nil))
            return EditedResponse(status: .created, response: report)
        }
        group.get("admin/reconciliation") { _, context in
            _ = try context.requireRole(.admin)
            guard let report = try await postgres.withConnection({ try await reconciler.latest(on: $0) }) else {
                throw Problem.notFound("No reconciliation has run yet: POST /api/v1/admin/reconciliation.")
            }
            return report
        }
    }
}
