import EventContracts
import Foundation
import GatewayCommands
import HTTPSupport
import Hummingbird
import Logging
import Messaging
import Persistence
import PostgresNIO

/// A refund as stored and shown.
struct RefundRecord: Sendable, Equatable, Encodable, ResponseEncodable {
    var id: UUID
    var paymentId: UUID
    var orderId: UUID
    var amount: Int64
    var currency: String
    var reason: String
    var status: String
    var stripeRefundId: String?
    var failureReason: String?
    /// A refund of what store credit paid goes back to the buyer's wallet (its whole amount; no
    /// gateway call); a card's refund has 0.
    var walletAmount: Int64 = 0
}

/// Refund requests and their settlement. The request transaction locks the payment, so two
/// concurrent requests can never together refund more than was charged.
struct RefundStore: Sendable {
    let logger: Logger
    let topic: String
    /// The refund itself is a gateway command, recorded with the request.
    let commands: GatewayCommandStore

    /// Records a refund request, or throws a problem saying why it is refused. A request with
    /// a key seen before returns the refund it created.
    func request(
        paymentId: UUID, orderId: UUID?, amount: Int64, reason: String, requestedBy: String, key: String, correlationId: String,
        on connection: PostgresConnection, store: PaymentStore
    ) async throws -> RefundRecord {
        if let existing = try await find(key: key, on: connection) { return existing }
        guard let payment = try await store.lock(id: paymentId, on: connection) else {
            throw Problem.notFound("No payment with id \(paymentId.uuidString.lowercased()).")
        }
        guard payment.status == .succeeded || payment.status == .partiallyRefunded else {
            throw Problem.conflict("Only a succeeded payment can be refunded; it is \(payment.status.rawValue).",
                                   extensions: ["currentState": payment.status.rawValue])
        }
        let chargeback = try await connection.query(prepared:
            "SELECT chargeback_open FROM payments WHERE id = \(paymentId)", logger: logger
        ).decode(Bool.self).all().first ?? false
        guard !chargeback else {
            throw Problem.conflict("The charge is under a chargeback; no refund may be issued until it closes.")
        }
        let order: Payment.Part
        if let orderId {
            guard let part = payment.orders.first(where: { $0.orderId == orderId }) else {
                throw Problem.validation("Order \(orderId.uuidString.lowercased()) is not paid by this payment.")
            }
            order = part
        } else {
            guard payment.orders.count == 1 else { throw Problem.validation("This payment covers several orders: name the orderId.") }
            order = payment.orders[0]
        }
        guard amount > 0 else { throw Problem.validation("amount must be positive (minor units).") }
        let (refundedForOrder, walletRefundedForOrder) = try await connection.query(prepared:
            """
            SELECT COALESCE(sum(amount), 0)::bigint, COALESCE(sum(wallet_amount), 0)::bigint FROM refunds
            WHERE order_id = \(order.orderId) AND status <> 'failed'
            """, logger: logger
        ).decode((Int64, Int64).self).all().first ?? (Int64(0), Int64(0))
        guard refundedForOrder + amount <= order.amount else {
            throw Problem.validation(
                "Refunds for this order would exceed what was paid for it (\(order.amount - refundedForOrder) left).")
        }
        // Money goes back where it came from: the order's store-credit part to the wallet and the
        // card's part to the card, in proportion to what is left of each.
        let walletLeft = max(0, (payment.walletShares[order.orderId] ?? 0) - walletRefundedForOrder)
        let cardLeft = max(0, order.amount - refundedForOrder - walletLeft)
        let toWallet = min(walletLeft, Allocation.largestRemainder(amount, weights: [cardLeft, walletLeft])[1])
        let toCard = amount - toWallet
        try await store.trail(
            payment.id, "refund_requested",
            "\(amount) for order \(order.orderNumber)\(toWallet > 0 ? " (\(toWallet) to store credit)" : ""): \(reason)", on: connection)
        // Two refunds when both are owed: the wallet's, done now (no gateway; EscrowService books
        // it), and the card's, a gateway command. The request's key names the card's (or the only one).
        var answer: RefundRecord?
        if toWallet > 0 {
            let wallet = try await insert(
                payment: payment, orderId: order.orderId, amount: toWallet, walletAmount: toWallet, reason: reason, requestedBy: requestedBy,
                key: toCard > 0 ? key + ":wallet" : key, correlationId: correlationId, on: connection)
            try await succeeded(wallet, stripeRefundId: nil, correlationId: correlationId, on: connection, store: store)
            answer = RefundRecord(
                id: wallet.id, paymentId: wallet.paymentId, orderId: wallet.orderId, amount: toWallet, currency: wallet.currency,
                reason: reason, status: "succeeded", stripeRefundId: nil, failureReason: nil, walletAmount: toWallet)
        }
        if toCard > 0 {
            let card = try await insert(
                payment: payment, orderId: order.orderId, amount: toCard, walletAmount: 0, reason: reason, requestedBy: requestedBy,
                key: key, correlationId: correlationId, on: connection)
            // Keyed by the refund's id: a retry after a crash or a timeout can never refund twice.
            try await commands.enqueue(
                GatewayCommand(
                    kind: PaymentCommand.refund, subject: card.id.uuidString.lowercased(), amount: toCard, currency: card.currency,
                    idempotencyKey: "refund-\(card.id.uuidString.lowercased())", parameters: ["charge": payment.chargeId ?? "", "reason": reason],
                    correlationId: correlationId),
                on: connection)
            answer = card
        }
        guard let answer else { throw Problem.validation("amount must be positive (minor units).") }
        return answer
    }

    private func insert(
        payment: Payment, orderId: UUID, amount: Int64, walletAmount: Int64, reason: String, requestedBy: String, key: String,
        correlationId: String, on connection: PostgresConnection
    ) async throws -> RefundRecord {
        let refund = RefundRecord(
            id: UUID(), paymentId: payment.id, orderId: orderId, amount: amount, currency: payment.currency, reason: reason,
            status: "requested", stripeRefundId: nil, failureReason: nil, walletAmount: walletAmount)
        try await connection.query(prepared:
            """
            INSERT INTO refunds (id, payment_id, order_id, amount, currency, reason, status, requested_by, request_key, correlation_id,
                wallet_amount)
            VALUES (\(refund.id), \(refund.paymentId), \(orderId), \(amount), \(refund.currency), \(reason), 'requested',
                \(requestedBy), \(key), \(correlationId), \(walletAmount))
            """, logger: logger)
        return refund
    }

    /// The correlation id of what asked for the refund (older rows: the refund's own).
    func correlationId(of id: UUID, on connection: PostgresConnection) async throws -> String {
        let rows = try await connection.query(prepared: "SELECT correlation_id FROM refunds WHERE id = \(id)", logger: logger)
            .decode(String?.self).all()
        return (rows.first ?? nil) ?? "refund:\(id.uuidString.lowercased())"
    }

    func lock(_ id: UUID, on connection: PostgresConnection) async throws -> RefundRecord? {
        try await connection.query(prepared:
            """
            SELECT id, payment_id, order_id, amount, currency, reason, status, stripe_refund_id, failure_reason, wallet_amount
            FROM refunds WHERE id = \(id) FOR UPDATE
            """, logger: logger
        ).decode((UUID, UUID, UUID, Int64, String, String, String, String?, String?, Int64).self).all().first.map(Self.record)
    }

    func find(key: String, on connection: PostgresConnection) async throws -> RefundRecord? {
        try await connection.query(prepared:
            """
            SELECT id, payment_id, order_id, amount, currency, reason, status, stripe_refund_id, failure_reason, wallet_amount
            FROM refunds WHERE request_key = \(key)
            """, logger: logger
        ).decode((UUID, UUID, UUID, Int64, String, String, String, String?, String?, Int64).self).all().first.map(Self.record)
    }

    /// The gateway refunded the money: update the payment's totals and tell the others.
    func succeeded(
        _ refund: RefundRecord, stripeRefundId: String?, correlationId: String, on connection: PostgresConnection, store: PaymentStore
    ) async throws {
        try await connection.query(prepared:
            "UPDATE refunds SET status = 'succeeded', stripe_refund_id = \(stripeRefundId), updated_at = now() WHERE id = \(refund.id)",
            logger: logger)
        let (amount, refunded) = try await connection.query(prepared:
            """
            UPDATE payments SET amount_refunded = amount_refunded + \(refund.amount),
                status = CASE WHEN amount_refunded + \(refund.amount) >= amount THEN 'refunded' ELSE 'partially_refunded' END,
                updated_at = now()
            WHERE id = \(refund.paymentId) RETURNING amount, amount_refunded
            """, logger: logger
        ).decode((Int64, Int64).self).all()[0]
        let orderRefunded = try await connection.query(prepared:
            "SELECT COALESCE(sum(amount), 0)::bigint FROM refunds WHERE order_id = \(refund.orderId) AND status = 'succeeded'",
            logger: logger
        ).decode(Int64.self).all().first ?? 0
        let orderAmount = try await connection.query(prepared:
            "SELECT amount FROM payment_orders WHERE order_id = \(refund.orderId)", logger: logger
        ).decode(Int64.self).all().first ?? 0
        try await store.trail(
            refund.paymentId, refunded >= amount ? "refunded" : "partially_refunded",
            stripeRefundId.map { "refund \($0)" } ?? "\(refund.walletAmount) returned to store credit", on: connection)
        try await publish(
            RefundSucceeded(
                refundId: refund.id, paymentId: refund.paymentId, orderId: refund.orderId, amount: refund.amount,
                currency: refund.currency, orderFullyRefunded: orderRefunded >= orderAmount,
                walletAmount: refund.walletAmount > 0 ? refund.walletAmount : nil),
            paymentId: refund.paymentId, correlationId: correlationId, on: connection)
    }

    /// A refund the gateway first accepted later failed: the money is still with the platform,
    /// so the payment's refunded total goes back down and `refund.failed` is published. Returns
    /// false while our refund does not know the gateway's first answer yet (the report must wait).
    func reverse(
        stripeRefundId: String, refundId: UUID?, reason: String, correlationId: String, on connection: PostgresConnection,
        store: PaymentStore
    ) async throws -> Bool {
        let rows = try await connection.query(prepared:
            """
            SELECT id, payment_id, order_id, amount, currency, reason, status, stripe_refund_id, failure_reason, wallet_amount
            FROM refunds WHERE stripe_refund_id = \(stripeRefundId) OR id = \(refundId) ORDER BY id LIMIT 1 FOR UPDATE
            """, logger: logger
        ).decode((UUID, UUID, UUID, Int64, String, String, String, String?, String?, Int64).self).all()
        guard let refund = rows.first.map(Self.record) else {
            logger.warning("a failed refund we do not know", metadata: ["stripe_refund": "\(stripeRefundId)"])
            return true
        }
        switch refund.status {
        case "requested":
            return false
        case "succeeded":
            break
        default:
            return true
        }
        try await connection.query(prepared:
            """
            UPDATE payments SET amount_refunded = amount_refunded - \(refund.amount),
                status = CASE WHEN amount_refunded - \(refund.amount) = 0 THEN 'succeeded' ELSE 'partially_refunded' END,
                updated_at = now()
            WHERE id = \(refund.paymentId)
            """, logger: logger)
        try await failed(refund, reason: reason, afterSuccess: true, correlationId: correlationId, on: connection, store: store)
        return true
    }

    func failed(
        _ refund: RefundRecord, reason: String, afterSuccess: Bool = false, correlationId: String, on connection: PostgresConnection,
        store: PaymentStore
    ) async throws {
        try await connection.query(prepared:
            "UPDATE refunds SET status = 'failed', failure_reason = \(reason), updated_at = now() WHERE id = \(refund.id)", logger: logger)
        try await store.trail(refund.paymentId, "refund_failed", reason, on: connection)
        try await publish(
            RefundFailed(
                refundId: refund.id, paymentId: refund.paymentId, orderId: refund.orderId, amount: refund.amount, reason: reason,
                afterSuccess: afterSuccess ? true : nil),
            paymentId: refund.paymentId, correlationId: correlationId, on: connection)
    }

    private func publish<Payload: DomainEventPayload>(
        _ payload: Payload, paymentId: UUID, correlationId: String, on connection: PostgresConnection
    ) async throws {
        let envelope = try EventEnvelope(
            payload: payload, aggregateId: paymentId.uuidString.lowercased(), correlationId: correlationId,
            producer: PaymentStore.producer)
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
    }

    private static func record(_ row: (UUID, UUID, UUID, Int64, String, String, String, String?, String?, Int64)) -> RefundRecord {
        RefundRecord(
            id: row.0, paymentId: row.1, orderId: row.2, amount: row.3, currency: row.4, reason: row.5, status: row.6,
            stripeRefundId: row.7, failureReason: row.8, walletAmount: row.9)
    }
}
