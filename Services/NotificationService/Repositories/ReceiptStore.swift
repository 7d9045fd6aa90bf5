import EventContracts
import Foundation
import HTTPSupport
import Logging
import Persistence
import PostgresNIO

/// A receipt as issued, with its orders (and their lines, once known) and later refunds.
struct Receipt: Sendable {
    struct Order: Sendable {
        var orderId: UUID
        var sellerId: String
        var amount: Int64
        /// From the projection; nil while the order's events have not arrived.
        var projected: ProjectedOrder?
    }

    struct Refund: Sendable {
        var refundId: UUID
        var orderId: UUID
        var amount: Int64
        var refundedAt: Date
    }

    var id: UUID
    var number: Int64
    var paymentId: UUID
    var checkoutId: UUID
    var buyerId: String?
    var currency: String
    var totalAmount: Int64
    var sourceEventId: UUID
    var emailed: Bool
    var issuedAt: Date
    var orders: [Order]
    var refunds: [Refund]

    /// `R-000042`.
    var receiptNumber: String { Self.format(number: number) }

    static func format(number: Int64) -> String {
        let digits = String(number)
        return "R-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Refunds never exceed what was paid (PaymentService refuses more), so these cannot
    /// overflow; saturating keeps a malformed event from trapping the consumer all the same.
    var refundedAmount: Int64 { Money.sum(refunds.map(\.amount)) ?? .max }
    var netAmount: Int64 {
        let (net, overflow) = totalAmount.subtractingReportingOverflow(refundedAmount)
        return overflow ? .min : net
    }
    /// Every order's lines are known, so the receipt can be emailed.
    var isComplete: Bool { orders.allSatisfy { $0.projected != nil } }
}

/// Receipts: one per successful payment, numbered without gaps.
struct ReceiptStore: Sendable {
    let logger: Logger
    let projection: ProjectionStore

    /// A succeeded payment whose receipt its transaction issues at its end.
    struct Issue: Sendable {
        var payment: PaymentSucceeded
        /// The payment.succeeded event: the receipt's source.
        var source: UUID
        /// The event's logger, with its correlation id.
        var logger: Logger
    }

    /// Issues the payments' receipts with the next numbers, in the given order, skipping a payment
    /// that already has one; returns the new receipts' ids with what they were issued for. The
    /// counter row stays locked until commit, so numbers are taken in commit order, gap-free. Call
    /// it at the end of the transaction (`CheckoutReceipts`), after every other lock it takes.
    func issue(_ issues: [Issue], on connection: PostgresConnection) async throws -> [(id: UUID, issue: Issue)] {
        // A transaction with no payment (only orders arriving) must not queue on the counter.
        guard !issues.isEmpty else { return [] }
        var last = try await connection.query(
            "SELECT last FROM receipt_counter WHERE id FOR UPDATE", logger: logger
        ).decode(Int64.self).all().first ?? 0
        var known = Set(try await connection.query(prepared:
            "SELECT payment_id FROM receipts WHERE payment_id = ANY(\(issues.map(\.payment.paymentId)))", logger: logger
        ).decode(UUID.self).all())
        var issued: [(id: UUID, issue: Issue)] = []
        for issue in issues {
            let payment = issue.payment
            guard known.insert(payment.paymentId).inserted else {
                issue.logger.info("payment already has a receipt", metadata: ["payment_id": "\(payment.paymentId)"])
                continue
            }
            let id = UUID()
            last += 1
            var buyerId = payment.buyerId
            if buyerId == nil { buyerId = try await projection.checkout(payment.checkoutId, on: connection)?.buyerId }
            try await connection.query(
                """
                INSERT INTO receipts (id, number, payment_id, checkout_id, buyer_id, currency, total_amount, source_event_id)
                VALUES (\(id), \(last), \(payment.paymentId), \(payment.checkoutId), \(buyerId), \(payment.currency),
                        \(payment.amount), \(issue.source))
                """, logger: logger)
            for (position, part) in payment.orders.enumerated() {
                try await connection.query(
                    """
                    INSERT INTO receipt_orders (receipt_id, position, order_id, seller_id, amount)
                    VALUES (\(id), \(position), \(part.orderId), \(part.sellerId), \(part.amount))
                    """, logger: logger)
            }
            issued.append((id, issue))
        }
        if !issued.isEmpty {
            try await connection.query("UPDATE receipt_counter SET last = \(last) WHERE id", logger: logger)
        }
        return issued
    }

    /// Records a refund against its payment (its receipt may not exist yet); false if known.
    func addRefund(_ refund: RefundSucceeded, at date: Date, on connection: PostgresConnection) async throws -> Bool {
        try await !connection.query(
            """
            INSERT INTO receipt_refunds (refund_id, payment_id, order_id, amount, currency, refunded_at)
            VALUES (\(refund.refundId), \(refund.paymentId), \(refund.orderId), \(refund.amount), \(refund.currency), \(date))
            ON CONFLICT (refund_id) DO NOTHING RETURNING refund_id
            """, logger: logger
        ).decode(UUID.self).all().isEmpty
    }

    func receipt(_ id: UUID, on connection: PostgresConnection) async throws -> Receipt? {
        try await receipts("SELECT \(unescaped: Self.columns) FROM receipts WHERE id = \(id)", on: connection).first
    }

    func receipt(paymentId: UUID, on connection: PostgresConnection) async throws -> Receipt? {
        try await receipts("SELECT \(unescaped: Self.columns) FROM receipts WHERE payment_id = \(paymentId)", on: connection).first
    }

    /// Up to `limit + 1` receipts below number `before`, newest (highest number: numbers follow
    /// commit order) first: a buyer's, or everyone's when `buyerId` is nil.
    func summaries(buyerId: String?, before: Int64?, limit: Int, on connection: PostgresConnection) async throws -> [ReceiptsController.Summary] {
        try await connection.query(
            """
            SELECT r.id, r.number, r.payment_id, r.checkout_id, r.buyer_id, r.currency, r.total_amount,
                   (SELECT LEAST(COALESCE(sum(f.amount), 0), 9223372036854775807)::int8 FROM receipt_refunds f
                    WHERE f.payment_id = r.payment_id),
                   (SELECT count(*)::int4 FROM receipt_orders o WHERE o.receipt_id = r.id), r.emailed, r.issued_at
            FROM receipts r
            WHERE (\(buyerId)::text IS NULL OR r.buyer_id = \(buyerId)) AND (\(before)::int8 IS NULL OR r.number < \(before))
            ORDER BY r.number DESC LIMIT \(limit + 1)
            """, logger: logger
        ).decode((UUID, Int64, UUID, UUID, String?, String, Int64, Int64, Int32, Bool, Date).self).all().map { row in
            let (net, overflow) = row.6.subtractingReportingOverflow(row.7)
            return ReceiptsController.Summary(
                id: row.0, number: row.1, receiptNumber: Receipt.format(number: row.1), paymentId: row.2, checkoutId: row.3,
                buyerId: row.4, currency: row.5, totalAmount: row.6, refundedAmount: row.7, netAmount: overflow ? .min : net,
                orderCount: Int(row.8), emailed: row.9, issuedAt: row.10)
        }
    }

    /// Serialises, until commit, the transactions that decide whether a checkout's receipt can be
    /// emailed: without it, a payment and its last order event handled at once (two instances,
    /// or one batch each) could each miss the other's uncommitted row, and nobody would email it.
    /// The checkouts' locks are taken together, in the order of their keys, so two transactions
    /// that name the same checkouts cannot each hold one the other waits for.
    func lockCheckouts(_ checkoutIds: [UUID], on connection: PostgresConnection) async throws {
        guard !checkoutIds.isEmpty else { return }
        let keys = checkoutIds.map { $0.uuidString.lowercased() }
        // `count(*)` makes every row, so every lock, before the statement ends.
        try await connection.query(prepared:
            """
            SELECT count(*) FROM (
                SELECT pg_advisory_xact_lock(\(AdvisoryLock.receiptCheckout), key)
                FROM (SELECT DISTINCT hashtext(id) AS key FROM unnest(\(keys)::text[]) AS id ORDER BY 1) AS keys
            ) AS locks
            """, logger: logger)
    }

    /// Receipts of a checkout still waiting for their orders before they are emailed, locked.
    func awaitingEmail(checkoutId: UUID, on connection: PostgresConnection) async throws -> [Receipt] {
        try await receipts(
            "SELECT \(unescaped: Self.columns) FROM receipts WHERE checkout_id = \(checkoutId) AND NOT emailed FOR UPDATE",
            on: connection)
    }

    func markEmailed(_ id: UUID, buyerId: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE receipts SET emailed = true, buyer_id = COALESCE(buyer_id, \(buyerId)) WHERE id = \(id)", logger: logger)
    }

    static let columns =
        "id, number, payment_id, checkout_id, buyer_id, currency, total_amount, source_event_id, emailed, issued_at"

    private func receipts(_ query: PreparedSQL, on connection: PostgresConnection) async throws -> [Receipt] {
        var receipts = try await connection.query(prepared: query, logger: logger).decode(
            (UUID, Int64, UUID, UUID, String?, String, Int64, UUID, Bool, Date).self
        ).all().map {
            Receipt(
                id: $0.0, number: $0.1, paymentId: $0.2, checkoutId: $0.3, buyerId: $0.4, currency: $0.5, totalAmount: $0.6,
                sourceEventId: $0.7, emailed: $0.8, issuedAt: $0.9, orders: [], refunds: [])
        }
        for index in receipts.indices {
            let parts = try await connection.query(prepared:
                "SELECT order_id, seller_id, amount FROM receipt_orders WHERE receipt_id = \(receipts[index].id) ORDER BY position",
                logger: logger
            ).decode((UUID, String, Int64).self).all()
            let projected = try await projection.orders(parts.map(\.0), on: connection)
            receipts[index].orders = parts.map { Receipt.Order(orderId: $0.0, sellerId: $0.1, amount: $0.2, projected: projected[$0.0]) }
            receipts[index].refunds = try await connection.query(
                """
                SELECT refund_id, order_id, amount, refunded_at FROM receipt_refunds
                WHERE payment_id = \(receipts[index].paymentId) ORDER BY refunded_at, refund_id
                """, logger: logger
            ).decode((UUID, UUID, Int64, Date).self).all().map {
                Receipt.Refund(refundId: $0.0, orderId: $0.1, amount: $0.2, refundedAt: $0.3)
            }
        }
        return receipts
    }
}
