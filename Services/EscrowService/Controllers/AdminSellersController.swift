import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO

/// Where a seller's connected account stands, as admins see it.
enum SellerVerification: String, Sendable, Encodable, CaseIterable {
    /// Charges and payouts are enabled.
    case verified
    /// Onboarding was submitted, but Stripe keeps charges or payouts off (requirements due, review).
    case restricted
    /// The seller has not finished onboarding.
    case pending

    init(chargesEnabled: Bool, payoutsEnabled: Bool, detailsSubmitted: Bool) {
        self = chargesEnabled && payoutsEnabled ? .verified : detailsSubmitted ? .restricted : .pending
    }

    /// The same rule in SQL, so the list can filter on it.
    static let sql = """
        CASE WHEN charges_enabled AND payouts_enabled THEN 'verified' WHEN details_submitted THEN 'restricted' ELSE 'pending' END
        """
}

/// `GET /api/v1/admin/sellers[?status=&limit=&cursor=]` (admin): sellers with a connected account
/// and their verification status, newest first.
struct AdminSellersController: Sendable {
    let postgres: PostgresClient

    struct Seller: Encodable, Sendable {
        var sellerId: String
        var email: String?
        var accountId: String
        var status: SellerVerification
        var chargesEnabled: Bool
        var payoutsEnabled: Bool
        var detailsSubmitted: Bool
        var currentlyDue: [String]
        var createdAt: Date
        var updatedAt: Date
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("admin/sellers") { request, context in try await list(request, context) }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Page<Seller> {
        _ = try context.requireRole(.admin)
        let query = request.uri.queryParameters
        let status = query.get("status")
        if let status, SellerVerification(rawValue: status) == nil {
            throw Problem.badRequest("status must be one of \(SellerVerification.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let limit = try PageRequest.limit(query.get("limit"))
        let cursor = try query.get("cursor").map(KeyedPageCursor.init(token:))
        let rows = try await postgres.query(
            """
            SELECT seller_id, seller_email, account_id, charges_enabled, payouts_enabled, details_submitted, currently_due,
                   created_at, updated_at
            FROM seller_accounts
            WHERE (\(status)::text IS NULL OR \(unescaped: SellerVerification.sql) = \(status))
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (created_at, seller_id) < (\(cursor?.createdAt), \(cursor?.key)))
            ORDER BY created_at DESC, seller_id DESC LIMIT \(limit + 1)
            """, logger: context.logger
        ).decode((String, String?, String, Bool, Bool, Bool, [String], Date, Date).self).all()
        return Page(rows: rows, limit: limit, token: { KeyedPageCursor(createdAt: $0.7, key: $0.0).token }) { row in
            Seller(
                sellerId: row.0, email: row.1, accountId: row.2,
                status: SellerVerification(chargesEnabled: row.3, payoutsEnabled: row.4, detailsSubmitted: row.5),
                chargesEnabled: row.3, payoutsEnabled: row.4, detailsSubmitted: row.5, currentlyDue: row.6, createdAt: row.7,
                updatedAt: row.8)
        }
    }
}
