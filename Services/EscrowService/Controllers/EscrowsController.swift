import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO
import ServiceRuntime

/// `GET /api/v1/escrows/{orderId}` for the order's buyer, seller or an admin; admin views of
/// flagged escrows and refunds after release.
struct EscrowsController: Sendable {
    let escrows: EscrowStore
    let postgres: PostgresClient
    let idempotency: IdempotencyStore

    struct AdminRefund: Decodable {
        var amount: Int64
        var reason: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("escrows/{orderId}") { _, context in
            let user = try context.requireUser()
            let orderId = try context.parameters.require("orderId", as: UUID.self)
            let escrow = try await postgres.withConnection { try await escrows.find(orderId: orderId, on: $0) }
            guard let escrow, user.isAdmin || user.id == escrow.sellerId || user.id == escrow.buyerId else {
                throw Problem.notFound("No escrow for order \(orderId.uuidString.lowercased()).")
            }
            return escrow
        }
        group.get("admin/escrows/flagged") { _, context in
            _ = try context.requireRole(.admin)
            return Page(items: try await postgres.withConnection { try await escrows.flagged(on: $0) }, nextCursor: nil)
        }
        group.post("admin/escrows/{orderId}/refund") { request, context in try await refund(request, context) }
    }

    /// An admin refund of (part of) an order: from held funds, or after release through a
    /// transfer reversal plus refund. Needs an Idempotency-Key.
    func refund(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let admin = try context.requireRole(.admin)
        let orderId = try context.parameters.require("orderId", as: UUID.self)
        let raw = try await request.body.collect(upTo: 64 * 1024)
        let body = try EventCoding.decoder.decode(AdminRefund.self, from: Data(buffer: raw))
        let reason = body.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(reason.count) else { throw Problem.validation("reason must be 1 to 500 characters.") }
        // The Idempotency-Key is unique per admin, so the gateway's keys are too.
        let key = "\(admin.id):\(request.headers[.idempotencyKey] ?? "")"
        let cause = Cause(correlationId: context.requestId, causationId: nil)
        return try await idempotency.run(request: request, context: context, body: raw) { connection in
            guard let escrow = try await escrows.lock(orderId: orderId, on: connection) else {
                throw Problem.notFound("No escrow for order \(orderId.uuidString.lowercased()).")
            }
            let updated: Escrow
            if escrow.releasedGross > 0 {
                updated = try await escrows.refundAfterRelease(
                    escrow, amount: body.amount, reason: "\(reason) (admin \(admin.id))", key: key, cause: cause, on: connection)
            } else {
                guard escrow.status.holdsFunds else {
                    throw Problem.conflict("The escrow is \(escrow.status.rawValue); nothing is left to refund.", extensions: ["currentState": escrow.status.rawValue])
                }
                guard body.amount <= escrow.unallocated else {
                    throw Problem.validation("amount must be at most \(escrow.unallocated), what the escrow still holds.")
                }
                updated = try await escrows.requestRefund(
                    escrow, amount: body.amount, reason: "\(reason) (admin \(admin.id))", cause: cause, on: connection)
            }
            return try .init(status: .accepted, body: updated)
        }
    }
}
