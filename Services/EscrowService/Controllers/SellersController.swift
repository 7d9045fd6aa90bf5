import Foundation
import HTTPSupport
import Hummingbird
import PostgresNIO
import StripeClient

/// `/api/v1/sellers`: onboarding to a connected account, its state, and the seller's balances.
struct SellersController: Sendable {
    let escrows: EscrowStore
    let postgres: PostgresClient
    /// This service's public address, for onboarding return and refresh pages.
    let publicBaseURL: @Sendable () -> String

    struct Status: Encodable, ResponseEncodable {
        var accountId: String?
        var chargesEnabled: Bool
        var payoutsEnabled: Bool
        var detailsSubmitted: Bool
        var currentlyDue: [String]
    }

    struct Onboarding: Encodable, ResponseEncodable {
        var accountId: String
        var onboardingUrl: String
        var expiresAt: Date
    }

    struct Balance: Encodable, Sendable {
        var currency: String
        /// Held in escrow for the seller (their net), not yet released.
        var pending: Int64
        var available: Int64
        var inTransit: Int64
        var paidOut: Int64
    }

    struct Balances: Encodable, ResponseEncodable {
        var balances: [Balance]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("sellers/stripe-onboard") { _, context in try await onboard(context) }
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
        group.get("sellers/me/balance") { _, context in
            let seller = try context.requireRole(.seller)
            return Balances(balances: try await balances(of: seller.id, context))
        }
    }

    /// Creates the seller's connected account once (repeat calls reuse it; the gateway call is
    /// keyed by the seller so even a race creates one) and returns a fresh onboarding link.
    func onboard(_ context: AppRequestContext) async throws -> Onboarding {
        let seller = try context.requireRole(.seller)
        var accountId = try await postgres.withConnection { try await escrows.sellerAccount(sellerId: seller.id, on: $0) }?.accountId
        if accountId == nil {
            let account = try await gatewayCall(context) {
                try await escrows.gateway.createAccount(sellerId: seller.id, email: seller.email, idempotencyKey: "seller-\(seller.id)-account")
            }
            try await postgres.query(
                """
                INSERT INTO seller_accounts (seller_id, account_id, seller_email, currently_due)
                VALUES (\(seller.id), \(account.id), \(seller.email), \(account.requirements?.currently_due ?? []))
                ON CONFLICT (seller_id) DO NOTHING
                """, logger: context.logger)
            accountId = try await postgres.withConnection { try await escrows.sellerAccount(sellerId: seller.id, on: $0) }?.accountId
        }
        guard let accountId else { throw Problem.internalError(requestId: context.requestId) }
        let base = publicBaseURL()
        let link = try await gatewayCall(context) {
            try await escrows.gateway.onboardingLink(
                account: accountId, refreshURL: "\(base)/sellers/onboarding/refresh", returnURL: "\(base)/sellers/onboarding/return")
        }
        context.logger.info("onboarding link issued", metadata: ["account": "\(accountId)"])
        return Onboarding(accountId: accountId, onboardingUrl: link.url, expiresAt: Date(timeIntervalSince1970: TimeInterval(link.expires_at)))
    }

    private func balances(of seller: String, _ context: AppRequestContext) async throws -> [Balance] {
        let ledger = try await postgres.query(
            """
            SELECT currency, account, COALESCE(-sum(amount), 0)::bigint FROM journal_entries
            WHERE account IN (\("seller_available:" + seller), \("seller_in_transit:" + seller), \("seller_paid_out:" + seller))
            GROUP BY currency, account
            """, logger: context.logger
        ).decode((String, String, Int64).self).all()
        let pending = try await postgres.query(
            """
            SELECT currency, COALESCE(sum(
                CASE WHEN refund_requested = 0 THEN net_amount ELSE GREATEST(0, gross_amount - refund_requested) * net_amount / gross_amount END
            ), 0)::bigint FROM escrows
            WHERE seller_id = \(seller) AND status IN ('held', 'parked') GROUP BY currency
            """, logger: context.logger
        ).decode((String, Int64).self).all()
        var result: [String: Balance] = [:]
        for (currency, amount) in pending {
            result[currency, default: Balance(currency: currency, pending: 0, available: 0, inTransit: 0, paidOut: 0)].pending = amount
        }
        for (currency, account, amount) in ledger {
            var balance = result[currency] ?? Balance(currency: currency, pending: 0, available: 0, inTransit: 0, paidOut: 0)
            switch account.split(separator: ":").first {
            case "seller_available": balance.available = amount
            case "seller_in_transit": balance.inTransit = amount
            default: balance.paidOut = amount
            }
            result[currency] = balance
        }
        return result.values.sorted { $0.currency < $1.currency }
    }

    private func gatewayCall<Result>(_ context: AppRequestContext, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as StripeError {
            context.logger.warning("gateway call failed", metadata: ["error": "\(error)"])
            throw Problem(status: .badGateway, type: "/problems/gateway", title: "Payment provider unavailable", detail: error.userMessage)
        }
    }
}
