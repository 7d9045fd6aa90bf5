import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO
import ServiceRuntime

/// `POST /api/v1/admin/refunds` (admin): a full or partial refund of a payment, with a reason.
/// Requires an Idempotency-Key; the refund is a gateway command, executed by the command worker.
struct AdminRefundsController: Sendable {
    let payments: PaymentStore
    let refunds: RefundStore
    let idempotency: IdempotencyStore
    let wake: @Sendable () -> Void

    struct RefundRequest: Decodable {
        var paymentId: UUID
        var orderId: UUID?
        var amount: Int64
        var reason: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("admin/refunds") { request, context in try await create(request, context) }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let admin = try context.requireRole(.admin)
        let raw = try await request.body.collect(upTo: 64 * 1024)
        let body = try EventCoding.decoder.decode(RefundRequest.self, from: Data(buffer: raw))
        let reason = body.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(reason.count) else { throw Problem.validation("reason must be 1 to 500 characters.") }
        let key = request.headers[.idempotencyKey] ?? ""
        let response = try await idempotency.run(request: request, context: context, body: raw) { connection in
            let refund = try await refunds.request(
                paymentId: body.paymentId, orderId: body.orderId, amount: body.amount, reason: reason,
                requestedBy: "admin:\(admin.id)", key: "admin:\(admin.id):\(key)", correlationId: context.requestId, on: connection,
                store: payments)
            return try .init(status: .accepted, body: refund)
        }
        wake()
        return response
    }
}
