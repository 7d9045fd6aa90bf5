import EventContracts
import Foundation
import GatewayCommands
import HTTPSupport
import Hummingbird
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceRuntime

/// `POST /api/v1/payouts` (seller, Idempotency-Key required): amount and currency, at most the
/// available balance; `GET /api/v1/payouts`: the seller's payout history.
struct PayoutsController: Sendable {
    let payouts: PayoutStore
    let postgres: PostgresClient
    let idempotency: IdempotencyStore
    let commands: GatewayCommandRunner

    struct RequestPayout: Decodable {
        var amount: Int64
        var currency: String
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("payouts") { request, context in try await create(request, context) }
        group.get("payouts") { request, context in
            let seller = try context.requireRole(.seller)
            let page = try PageRequest(limit: request.uri.queryParameters.get("limit"), cursor: request.uri.queryParameters.get("cursor"))
            return try await postgres.withConnection { try await payouts.history(sellerId: seller.id, page: page, on: $0) }
        }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let seller = try context.requireRole(.seller)
        let raw = try await request.body.collect(upTo: 16 * 1024)
        let body = try EventCoding.decoder.decode(RequestPayout.self, from: Data(buffer: raw))
        let cause = Cause(correlationId: context.requestId, causationId: nil)
        let created = NIOLockedValueBox<PayoutRecord?>(nil)
        let response = try await idempotency.run(request: request, context: context, body: raw) { connection in
            let payout = try await payouts.request(
                sellerId: seller.id, email: seller.email, amount: body.amount, currency: body.currency.lowercased(), cause: cause, on: connection)
            created.withLockedValue { $0 = payout }
            return try .init(status: .accepted, body: payout)
        }
        // A new payout (not a replay) goes to the gateway now that its request is committed; if
        // the answer does not come, the command worker keeps trying with the same key. The answer
        // is the stored one either way: one Idempotency-Key, one answer (the payout's progress is
        // read with GET /api/v1/payouts).
        guard let pending = created.withLockedValue({ $0 }) else { return response }
        do {
            try await commands.runNow(subject: pending.id.uuidString.lowercased(), kind: EscrowCommand.payout)
        } catch {
            context.logger.warning("payout not yet accepted by the gateway; it will be retried", metadata: ["error": "\(error)"])
        }
        return response
    }
}
