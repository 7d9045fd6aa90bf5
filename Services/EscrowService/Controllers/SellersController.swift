import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// `/api/v1/sellers`: the seller's connected account and its state.
struct SellersController: Sendable {
    let postgres: PostgresClient

    struct Status: Encodable, ResponseEncodable {
        var accountId: String?
        var chargesEnabled: Bool
        var payoutsEnabled: Bool
        var detailsSubmitted: Bool
        var currentlyDue: [String]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("sellers/me/stripe-status") { _, context in
            let seller = try context.requireRole(.seller)
            let rows = try await postgres.query(
                """
                SELECT account_id, charges_enabled, payouts_enabled, details_submitted, currently_due
                FROM seller_accounts WHERE seller_id = \(seller.id)
                """, logger: context.logger
            ).decode((String, Bool, Bool, Bool, [String]).self).all()
            guard let row = rows.first else {
                return Status(accountId: nil, chargesEnabled: false, payoutsEnabled: false, detailsSubmitted: false, currentlyDue: [])
            }
            return Status(accountId: row.0, chargesEnabled: row.1, payoutsEnabled: row.2, detailsSubmitted: row.3, currentlyDue: row.4)
        }
    }
}
