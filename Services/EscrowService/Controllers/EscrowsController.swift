import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// `GET /api/v1/escrows/{orderId}`: the order's escrow, for its buyer, its seller or an admin.
struct EscrowsController: Sendable {
    let store: EscrowStore
    let postgres: PostgresClient

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("escrows/{orderId}") { _, context in
            let user = try context.requireUser()
            let orderId = try context.parameters.require("orderId", as: UUID.self)
            let escrow = try await postgres.withConnection { try await store.find(orderId: orderId, on: $0) }
            guard let escrow, user.isAdmin || user.id == escrow.sellerId || user.id == escrow.buyerId else {
                throw Problem.notFound("No escrow for order \(orderId.uuidString.lowercased()).")
            }
            return escrow
        }
    }
}
