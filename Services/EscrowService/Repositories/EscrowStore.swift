import EventContracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// An escrow as stored and shown.
struct Escrow: Sendable, Equatable, Encodable, ResponseEncodable {
    var id: UUID
    var orderId: UUID
    var paymentId: UUID
    var checkoutId: UUID
    var buyerId: String?
    var sellerId: String
    var currency: String
    var grossAmount: Int64
    var feeAmount: Int64
    var netAmount: Int64
    var status: String
    var createdAt: Date
}

/// Escrows and the ledger in Postgres.
struct EscrowStore: Sendable {
    let logger: Logger

    /// Posts a balanced journal transaction once per `source` (an event id, say); a second
    /// post from the same source is ignored and returns false.
    @discardableResult
    func post(_ journal: Journal, source: String, on connection: PostgresConnection) async throws -> Bool {
        let valid = try journal.validated()
        let id = UUID()
        let inserted = try await connection.query(
            "INSERT INTO journal_transactions (id, memo, source) VALUES (\(id), \(valid.memo), \(source)) ON CONFLICT (source) DO NOTHING RETURNING 1",
            logger: logger
        ).collect()
        guard !inserted.isEmpty else { return false }
        for entry in valid.entries {
            try await connection.query(
                """
                INSERT INTO journal_entries (transaction_id, account, amount, currency)
                VALUES (\(id), \(entry.account.description), \(entry.amount), \(entry.currency))
                """, logger: logger)
        }
        return true
    }

    /// Opens one escrow per order of a successful payment; the payment's amount is split over the
    /// orders by largest remainder (weights: each order's share) so the parts add up exactly.
    func open(for payment: PaymentSucceeded, fees: FeePolicy, source: String, on connection: PostgresConnection) async throws -> [Escrow] {
        let grosses = Allocation.largestRemainder(payment.amount, weights: payment.orders.map(\.amount))
        var escrows: [Escrow] = []
        for (part, gross) in zip(payment.orders, grosses) where gross > 0 {
            let escrow = Escrow(
                id: UUID(), orderId: part.orderId, paymentId: payment.paymentId, checkoutId: payment.checkoutId,
                buyerId: payment.buyerId, sellerId: part.sellerId, currency: payment.currency, grossAmount: gross,
                feeAmount: fees.fee(on: gross), netAmount: fees.net(of: gross), status: "held", createdAt: Date())
            let inserted = try await connection.query(
                """
                INSERT INTO escrows (id, order_id, payment_id, checkout_id, charge_id, buyer_id, seller_id, currency, gross_amount,
                    fee_amount, net_amount, status)
                VALUES (\(escrow.id), \(escrow.orderId), \(escrow.paymentId), \(escrow.checkoutId), \(payment.chargeId),
                    \(escrow.buyerId), \(escrow.sellerId), \(escrow.currency), \(escrow.grossAmount), \(escrow.feeAmount),
                    \(escrow.netAmount), 'held')
                ON CONFLICT (order_id) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect()
            // An order that already has an escrow is not held twice.
            if !inserted.isEmpty { escrows.append(escrow) }
        }
        guard !escrows.isEmpty else { return [] }
        var journal = Journal(memo: "payment \(payment.paymentId.uuidString.lowercased()) held in escrow")
        journal.debit(.gatewayClearing, escrows.reduce(0) { $0 + $1.grossAmount }, payment.currency)
        for escrow in escrows { journal.credit(.escrowHeld(escrow.id.uuidString.lowercased()), escrow.grossAmount, payment.currency) }
        try await post(journal, source: source, on: connection)
        return escrows
    }

    func find(orderId: UUID, on connection: PostgresConnection) async throws -> Escrow? {
        try await connection.query(
            """
            SELECT id, order_id, payment_id, checkout_id, buyer_id, seller_id, currency, gross_amount, fee_amount, net_amount,
                status, created_at
            FROM escrows WHERE order_id = \(orderId)
            """, logger: logger
        ).decode((UUID, UUID, UUID, UUID, String?, String, String, Int64, Int64, Int64, String, Date).self).all().first.map {
            Escrow(
                id: $0.0, orderId: $0.1, paymentId: $0.2, checkoutId: $0.3, buyerId: $0.4, sellerId: $0.5, currency: $0.6,
                grossAmount: $0.7, feeAmount: $0.8, netAmount: $0.9, status: $0.10, createdAt: $0.11)
        }
    }

    /// The sum of every account per currency; zero everywhere when the ledger balances.
    func imbalance(on connection: PostgresConnection) async throws -> [String: Int64] {
        let rows = try await connection.query(
            "SELECT currency, sum(amount)::bigint FROM journal_entries GROUP BY currency", logger: logger
        ).decode((String, Int64).self).all()
        return Dictionary(uniqueKeysWithValues: rows.filter { $0.1 != 0 })
    }
}
