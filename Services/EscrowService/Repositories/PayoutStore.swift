import EventContracts
import Foundation
import GatewayCommands
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
/// the seller, so concurrent requests can never pay out more than the balance) together with a
/// gateway command; the command worker sends it after that commits, and the gateway settles it
/// by `payout.paid` / `payout.failed`. Only a refusal or a failure gives the money back: while
/// the gateway's answer is unknown, it stays out of `available`.
struct PayoutStore: Sendable {
    let escrows: EscrowStore
    var logger: Logger { escrows.logger }

    /// Records the request and takes the amount from available; the gateway call follows (the
    /// command worker, or `GatewayCommandRunner.runNow`). The seller's request and a scheduled
    /// run both come here.
    func request(
        id: UUID = UUID(), sellerId: String, email: String?, amount: Int64, currency: String, cause: Cause,
        on connection: PostgresConnection
    ) async throws -> PayoutRecord {
        guard amount > 0 else { throw Problem.validation("amount must be a positive whole number of minor units.") }
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLowercase }) else {
            throw Problem.validation("currency must be a lowercase ISO 4217 code such as usd.")
        }
        guard let account = try await escrows.sellerAccount(sellerId: sellerId, lock: true, on: connection) else {
            throw Problem.conflict("Connect a payout account first (POST /api/v1/sellers/stripe-onboard).")
        }
        guard account.payoutsEnabled else {
            throw Problem.conflict("Your payout account cannot receive payouts yet: finish onboarding.")
        }
        let available = try await escrows.balance(of: .sellerAvailable(sellerId), currency: currency, on: connection)
        guard amount <= available else {
            throw Problem(
                status: .unprocessableContent, type: "/problems/insufficient-balance", title: "Insufficient balance",
                detail: "You can pay out at most \(available) \(currency) now.", extensions: ["available": "\(available)"])
        }
        let rows = try await connection.query(
            """
            INSERT INTO payouts (id, seller_id, account_id, amount, currency, status)
            VALUES (\(id), \(sellerId), \(account.accountId), \(amount), \(currency), 'pending')
            RETURNING \(unescaped: PayoutRecord.columns)
            """, logger: logger
        ).collect()
        try await escrows.post(
            .payoutRequested(id, seller: sellerId, amount: amount, currency: currency), source: "payout:\(id.uuidString.lowercased())",
            on: connection)
        let payout = try PayoutRecord(row: rows[0])
        try await escrows.commands.enqueue(
            GatewayCommand(
                kind: EscrowCommand.payout, subject: id.uuidString.lowercased(), amount: amount, currency: currency,
                idempotencyKey: "payout-\(id.uuidString.lowercased())", parameters: ["account": account.accountId],
                correlationId: cause.correlationId, causationId: cause.causationId),
            on: connection)
        try await publish(payout, type: PayoutChanged.requestedType, email: email, cause: cause, on: connection)
        return payout
    }

    /// The gateway created the payout: it is in transit until the gateway settles it.
    func accepted(_ id: UUID, stripePayoutId: String, cause: Cause, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE payouts SET stripe_payout_id = \(stripePayoutId), status = 'in_transit', updated_at = now()
            WHERE id = \(id) AND status = 'pending'
            """, logger: logger)
        // The gateway's report may have arrived before its answer.
        let early = try await connection.query(
            "DELETE FROM unmatched_payout_updates WHERE stripe_payout_id = \(stripePayoutId) RETURNING status, failure_code", logger: logger
        ).decode((String, String?).self).all()
        if let (status, failure) = early.first {
            try await settle(stripePayoutId: stripePayoutId, status: status, failureCode: failure, cause: cause, on: connection)
        }
    }

    /// The gateway refused the payout (nothing was created): the amount is available again.
    func refused(_ id: UUID, reason: String, cause: Cause, on connection: PostgresConnection) async throws {
        logger.warning("payout refused by the gateway", metadata: ["payout_id": "\(id)", "reason": "\(reason)"])
        try await fail(id, reason: reason, cause: cause, on: connection)
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
        if payout.status == "paid" && (status == "failed" || status == "canceled") {
            // The bank returned a payout it had accepted: the money is the seller's again.
            try await returned(payout, reason: failureCode ?? status, cause: cause, on: connection)
            return
        }
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

    /// A paid payout failed afterwards (`payout.failed` after `payout.paid`): the ledger books it
    /// back from paid out to available, and the seller is told.
    private func returned(_ payout: PayoutRecord, reason: String, cause: Cause, on connection: PostgresConnection) async throws {
        var journal = Journal(memo: "payout \(payout.id.uuidString.lowercased()) returned by the bank after it was paid")
        journal.debit(.sellerPaidOut(payout.sellerId), payout.amount, payout.currency)
        journal.credit(.sellerAvailable(payout.sellerId), payout.amount, payout.currency)
        guard try await escrows.post(journal, source: "payout-returned:\(payout.id.uuidString.lowercased())", on: connection) else { return }
        let rows = try await connection.query(
            """
            UPDATE payouts SET status = 'failed', failure_reason = \(reason), updated_at = now() WHERE id = \(payout.id)
            RETURNING \(unescaped: PayoutRecord.columns)
            """, logger: logger
        ).collect()
        try await publish(try PayoutRecord(row: rows[0]), type: PayoutChanged.failedType, email: nil, cause: cause, on: connection)
        logger.warning("paid payout returned by the bank", metadata: ["payout_id": "\(payout.id)", "reason": "\(reason)"])
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
