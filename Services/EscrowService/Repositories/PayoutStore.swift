import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import PostgresNIO
import StripeClient

/// A seller's payout from their connected account to their bank.
struct PayoutRecord: Sendable, Encodable, ResponseEncodable {
    var id: UUID
    var sellerId: String
    var accountId: String
    var amount: Int64
    var currency: String
    /// `pending` (not yet accepted by the gateway), `in_transit`, `paid` or `failed`.
    var status: String
    var stripePayoutId: String?
    var failureReason: String?
    var createdAt: Date
    var updatedAt: Date

    static let columns = "id, seller_id, account_id, amount, currency, status, stripe_payout_id, failure_reason, created_at, updated_at"

    init(row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        id = try cells["id"].decode(UUID.self)
        sellerId = try cells["seller_id"].decode(String.self)
        accountId = try cells["account_id"].decode(String.self)
        amount = try cells["amount"].decode(Int64.self)
        currency = try cells["currency"].decode(String.self)
        status = try cells["status"].decode(String.self)
        stripePayoutId = try cells["stripe_payout_id"].decode(String?.self)
        failureReason = try cells["failure_reason"].decode(String?.self)
        createdAt = try cells["created_at"].decode(Date.self)
        updatedAt = try cells["updated_at"].decode(Date.self)
    }
}

/// Payouts: the amount leaves the seller's available balance when requested (under a lock on
/// the seller, so concurrent requests can never pay out more than the balance), goes to the
/// gateway after that commits, and is settled by `payout.paid` / `payout.failed`.
struct PayoutStore: Sendable {
    let escrows: EscrowStore
    let postgres: PostgresClient
    var logger: Logger { escrows.logger }

    /// Records the request and takes the amount from available; the gateway call follows (`submit`).
    func request(seller: AuthenticatedUser, amount: Int64, currency: String, cause: Cause, on connection: PostgresConnection) async throws -> PayoutRecord {
        guard amount > 0 else { throw Problem.validation("amount must be a positive whole number of minor units.") }
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLowercase }) else {
            throw Problem.validation("currency must be a lowercase ISO 4217 code such as usd.")
        }
        guard let account = try await escrows.sellerAccount(sellerId: seller.id, lock: true, on: connection) else {
            throw Problem.conflict("Connect a payout account first (POST /api/v1/sellers/stripe-onboard).")
        }
        guard account.payoutsEnabled else {
            throw Problem.conflict("Your payout account cannot receive payouts yet: finish onboarding.")
        }
        let available = try await escrows.balance(of: .sellerAvailable(seller.id), currency: currency, on: connection)
        guard amount <= available else {
            throw Problem(
                status: .unprocessableContent, type: "/problems/insufficient-balance", title: "Insufficient balance",
                detail: "You can pay out at most \(available) \(currency) now.", extensions: ["available": "\(available)"])
        }
        let id = UUID()
        let rows = try await connection.query(
            """
            INSERT INTO payouts (id, seller_id, account_id, amount, currency, status)
            VALUES (\(id), \(seller.id), \(account.accountId), \(amount), \(currency), 'pending')
            RETURNING \(unescaped: PayoutRecord.columns)
            """, logger: logger
        ).collect()
        try await escrows.post(
            .payoutRequested(id, seller: seller.id, amount: amount, currency: currency), source: "payout:\(id.uuidString.lowercased())",
            on: connection)
        let payout = try PayoutRecord(row: rows[0])
        try await publish(payout, type: PayoutChanged.requestedType, email: seller.email, cause: cause, on: connection)
        return payout
    }

    /// Sends a pending payout to the gateway (keyed by its id, so a retry creates one payout).
    /// A refusal fails it and returns the amount; no answer leaves it pending for a later retry.
    func submit(_ payout: PayoutRecord, cause: Cause) async throws -> PayoutRecord {
        do {
            let created = try await escrows.gateway.payout(
                account: payout.accountId, amount: payout.amount, currency: payout.currency,
                idempotencyKey: "payout-\(payout.id.uuidString.lowercased())")
            return try await postgres.inTransaction(logger: logger) { connection in
                try await connection.query(
                    """
                    UPDATE payouts SET stripe_payout_id = \(created.id), status = 'in_transit', updated_at = now()
                    WHERE id = \(payout.id) AND status = 'pending'
                    """, logger: logger)
                // The gateway's report may have arrived before its answer.
                let early = try await connection.query(
                    "DELETE FROM unmatched_payout_updates WHERE stripe_payout_id = \(created.id) RETURNING status, failure_code", logger: logger
                ).decode((String, String?).self).all()
                if let (status, failure) = early.first {
                    try await settle(stripePayoutId: created.id, status: status, failureCode: failure, cause: cause, on: connection)
                }
                return try await find(payout.id, on: connection) ?? payout
            }
        } catch let error as StripeError where !error.isRetriable {
            logger.warning("payout refused by the gateway", metadata: ["payout_id": "\(payout.id)", "error": "\(error)"])
            return try await postgres.inTransaction(logger: logger) { connection in
                try await fail(payout.id, reason: error.userMessage, cause: cause, on: connection)
                return try await find(payout.id, on: connection) ?? payout
            }
        }
    }

    /// The gateway reports a payout paid or failed (through PaymentService's webhook).
    func settle(stripePayoutId: String, status: String, failureCode: String?, cause: Cause, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            "SELECT \(unescaped: PayoutRecord.columns) FROM payouts WHERE stripe_payout_id = \(stripePayoutId) FOR UPDATE", logger: logger
        ).collect()
        guard let row = rows.first else {
            try await connection.query(
                """
                INSERT INTO unmatched_payout_updates (stripe_payout_id, status, failure_code) VALUES (\(stripePayoutId), \(status), \(failureCode))
                ON CONFLICT (stripe_payout_id) DO UPDATE SET status = EXCLUDED.status, failure_code = EXCLUDED.failure_code
                """, logger: logger)
            logger.info("payout report kept until the payout is linked", metadata: ["stripe_payout": "\(stripePayoutId)"])
            return
        }
        let payout = try PayoutRecord(row: row)
        guard payout.status == "pending" || payout.status == "in_transit" else { return }
        switch status {
        case "paid":
            try await connection.query(
                "UPDATE payouts SET status = 'paid', updated_at = now() WHERE id = \(payout.id)", logger: logger)
            try await escrows.post(
                .payoutSettled(payout.id, seller: payout.sellerId, amount: payout.amount, currency: payout.currency, paid: true),
                source: "payout-settled:\(payout.id.uuidString.lowercased())", on: connection)
            var paid = payout
            paid.status = "paid"
            try await publish(paid, type: PayoutChanged.paidType, email: nil, cause: cause, on: connection)
        case "failed", "canceled":
            try await fail(payout.id, reason: failureCode ?? status, cause: cause, on: connection)
        default:
            logger.info("payout update ignored", metadata: ["status": "\(status)"])
        }
    }

    /// The payout did not happen: its amount is available again.
    private func fail(_ id: UUID, reason: String, cause: Cause, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            UPDATE payouts SET status = 'failed', failure_reason = \(reason), updated_at = now()
            WHERE id = \(id) AND status IN ('pending', 'in_transit')
            RETURNING \(unescaped: PayoutRecord.columns)
            """, logger: logger
        ).collect()
        guard let row = rows.first else { return }
        let payout = try PayoutRecord(row: row)
        try await escrows.post(
            .payoutSettled(payout.id, seller: payout.sellerId, amount: payout.amount, currency: payout.currency, paid: false),
            source: "payout-settled:\(payout.id.uuidString.lowercased())", on: connection)
        try await publish(payout, type: PayoutChanged.failedType, email: nil, cause: cause, on: connection)
        logger.warning("payout failed", metadata: ["payout_id": "\(payout.id)", "reason": "\(reason)"])
    }

    func find(_ id: UUID, on connection: PostgresConnection) async throws -> PayoutRecord? {
        try await connection.query(
            "SELECT \(unescaped: PayoutRecord.columns) FROM payouts WHERE id = \(id)", logger: logger
        ).collect().first.map(PayoutRecord.init(row:))
    }

    /// Payouts the gateway has not accepted yet (its answer was lost), oldest first.
    func stalePending(olderThan age: Duration, on connection: PostgresConnection) async throws -> [PayoutRecord] {
        try await connection.query(
            """
            SELECT \(unescaped: PayoutRecord.columns) FROM payouts
            WHERE status = 'pending' AND created_at < now() - make_interval(secs => \(Double(age.components.seconds)))
            ORDER BY created_at LIMIT 100
            """, logger: logger
        ).collect().map(PayoutRecord.init(row:))
    }

    func history(sellerId: String, page: PageRequest, on connection: PostgresConnection) async throws -> Page<PayoutRecord> {
        let cursor = page.cursor
        let rows = try await connection.query(
            """
            SELECT \(unescaped: PayoutRecord.columns) FROM payouts
            WHERE seller_id = \(sellerId)
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (created_at, id) < (\(cursor?.createdAt), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC LIMIT \(page.limit + 1)
            """, logger: logger
        ).collect().map(PayoutRecord.init(row:))
        return Page(rows: rows, limit: page.limit, cursor: { PageCursor(createdAt: $0.createdAt, id: $0.id) }, item: { $0 })
    }

    private func publish(_ payout: PayoutRecord, type: String, email: String?, cause: Cause, on connection: PostgresConnection) async throws {
        var email = email
        if email == nil { email = try await escrows.sellerAccount(sellerId: payout.sellerId, on: connection)?.email }
        try await escrows.publish(
            PayoutChanged(
                payoutId: payout.id, sellerId: payout.sellerId, sellerEmail: email, amount: payout.amount, currency: payout.currency,
                status: payout.status, failureReason: payout.failureReason),
            type: type, aggregateType: PayoutChanged.aggregateType, aggregateId: payout.id.uuidString.lowercased(), cause: cause,
            on: connection)
    }
}
