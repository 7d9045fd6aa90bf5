import EventContracts
import Foundation
import GatewayCommands
import Hummingbird
import Logging
import Messaging
import Persistence
import PostgresNIO

/// An escrow as stored and shown: what was held, and where each part of it has gone.
struct Escrow: Sendable, Equatable, Encodable, ResponseEncodable {
    var id: UUID
    var orderId: UUID
    var paymentId: UUID
    var checkoutId: UUID
    var chargeId: String?
    var buyerId: String?
    var sellerId: String
    var currency: String
    var grossAmount: Int64
    /// The part of the gross paid with the buyer's store credit (the card paid the rest).
    var walletAmount: Int64
    var feeAmount: Int64
    var netAmount: Int64
    var status: EscrowStatus
    /// The open buyer dispute or card chargeback freezing it.
    var disputeId: UUID?
    var chargebackId: String?
    var chargebackAmount: Int64
    var chargebackReversed: Int64
    /// Promised to the buyer (requested refunds) and actually refunded (`walletRefunded` of it
    /// back to the wallet, the rest to the card).
    var refundRequested: Int64
    var refundedAmount: Int64
    var walletRefunded: Int64
    /// What the release moved: gross = fee + net (net went out by `transferId`).
    var releasedGross: Int64
    var releasedFee: Int64
    var releasedNet: Int64
    /// Taken back from the seller through transfer reversals.
    var reversedAmount: Int64
    var transferId: String?
    /// The transfer paying back what a won chargeback had reversed.
    var chargebackReturnTransferId: String?
    var parkedReason: String?
    var flaggedAt: Date?
    var flagReason: String?
    var deliveredAt: Date?
    var releasedAt: Date?
    var createdAt: Date

    /// Still held and not promised to anyone: what a release or a refund can take.
    var unallocated: Int64 { status.holdsFunds ? grossAmount - refundRequested - releasedGross : 0 }

    static let columns = """
        id, order_id, payment_id, checkout_id, charge_id, buyer_id, seller_id, currency, gross_amount, wallet_amount, fee_amount,
        net_amount, status, dispute_id, chargeback_id, chargeback_amount, chargeback_reversed, refund_requested, refunded_amount, wallet_refunded,
        released_gross, released_fee, released_net, reversed_amount, transfer_id, chargeback_return_transfer_id, parked_reason,
        flagged_at, flag_reason,
        delivered_at, released_at, created_at
        """

    init(row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        guard let status = EscrowStatus(rawValue: try cells["status"].decode(String.self)) else {
            throw StoredValueError(column: "status")
        }
        id = try cells["id"].decode(UUID.self)
        orderId = try cells["order_id"].decode(UUID.self)
        paymentId = try cells["payment_id"].decode(UUID.self)
        checkoutId = try cells["checkout_id"].decode(UUID.self)
        chargeId = try cells["charge_id"].decode(String?.self)
        buyerId = try cells["buyer_id"].decode(String?.self)
        sellerId = try cells["seller_id"].decode(String.self)
        currency = try cells["currency"].decode(String.self)
        grossAmount = try cells["gross_amount"].decode(Int64.self)
        walletAmount = try cells["wallet_amount"].decode(Int64.self)
        feeAmount = try cells["fee_amount"].decode(Int64.self)
        netAmount = try cells["net_amount"].decode(Int64.self)
        self.status = status
        disputeId = try cells["dispute_id"].decode(UUID?.self)
        chargebackId = try cells["chargeback_id"].decode(String?.self)
        chargebackAmount = try cells["chargeback_amount"].decode(Int64.self)
        chargebackReversed = try cells["chargeback_reversed"].decode(Int64.self)
        refundRequested = try cells["refund_requested"].decode(Int64.self)
        refundedAmount = try cells["refunded_amount"].decode(Int64.self)
        walletRefunded = try cells["wallet_refunded"].decode(Int64.self)
        releasedGross = try cells["released_gross"].decode(Int64.self)
        releasedFee = try cells["released_fee"].decode(Int64.self)
        releasedNet = try cells["released_net"].decode(Int64.self)
        reversedAmount = try cells["reversed_amount"].decode(Int64.self)
        transferId = try cells["transfer_id"].decode(String?.self)
        chargebackReturnTransferId = try cells["chargeback_return_transfer_id"].decode(String?.self)
        parkedReason = try cells["parked_reason"].decode(String?.self)
        flaggedAt = try cells["flagged_at"].decode(Date?.self)
        flagReason = try cells["flag_reason"].decode(String?.self)
        deliveredAt = try cells["delivered_at"].decode(Date?.self)
        releasedAt = try cells["released_at"].decode(Date?.self)
        createdAt = try cells["created_at"].decode(Date.self)
    }
}

/// A stored value the code does not recognise (a newer version wrote it, or it was edited).
struct StoredValueError: Error {
    var column: String
}

/// Why something happened: the request or event it traces back to, carried into every event it causes.
struct Cause: Sendable {
    var correlationId: String
    var causationId: String?
}

extension Cause {
    /// What a command's outcome traces back to: the decision that recorded it.
    init(_ command: GatewayCommand) {
        self.init(correlationId: command.correlationId, causationId: command.causationId)
    }
}

/// An escrow has a money movement in flight at the gateway (a release transfer or a reversal):
/// an event that would change it waits (its partition retries) until the outcome is recorded.
struct EscrowBusy: RetriableError, CustomStringConvertible {
    var escrowId: UUID
    var isRetriable: Bool { true }
    var description: String { "escrow \(escrowId.uuidString.lowercased()) has a gateway command in flight; retried after its outcome" }
}

/// Escrows and the ledger in Postgres. Every change to an escrow runs with its row locked, in
/// the transaction that posts its journal and appends its events.
struct EscrowStore: Sendable {
    let logger: Logger
    let topic: String
    let gateway: any EscrowGateway
    /// Money movements at the gateway are recorded here and executed by the command worker.
    let commands: GatewayCommandStore

    static let producer = "escrow-service"

    /// Posts a balanced journal transaction once per `source` (an event id, say); a second
    /// post from the same source is ignored and returns false.
    @discardableResult
    func post(_ journal: Journal, source: String, on connection: PostgresConnection) async throws -> Bool {
        let valid = try journal.validated()
        // The transaction and its entries in one statement; a source posted before inserts neither.
        let inserted = try await connection.query(prepared:
            """
            WITH posted AS (
                INSERT INTO journal_transactions (id, memo, source) VALUES (\(UUID()), \(valid.memo), \(source))
                ON CONFLICT (source) DO NOTHING RETURNING id
            ), entries AS (
                INSERT INTO journal_entries (transaction_id, account, amount, currency)
                SELECT posted.id, e.account, e.amount, e.currency
                FROM posted, unnest(\(valid.entries.map(\.account.description))::text[], \(valid.entries.map(\.amount))::int8[],
                                    \(valid.entries.map(\.currency))::text[]) WITH ORDINALITY AS e(account, amount, currency, position)
                ORDER BY e.position
            )
            SELECT count(*)::int4 FROM posted
            """, logger: logger
        ).decode(Int32.self).first { _ in true } ?? 0
        return inserted == 1
    }

    /// Appends an event about the escrow's order to the outbox, in the caller's transaction.
    func publish<Payload: DomainEventPayload>(_ payload: Payload, aggregateId: String, cause: Cause, on connection: PostgresConnection) async throws {
        let envelope = try EventEnvelope(
            payload: payload, aggregateId: aggregateId, correlationId: cause.correlationId, causationId: cause.causationId,
            producer: Self.producer)
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
    }

    func publish(_ payload: some Encodable, type: String, aggregateType: String, aggregateId: String, cause: Cause, on connection: PostgresConnection) async throws {
        let envelope = EventEnvelope(
            type: type, aggregateType: aggregateType, aggregateId: aggregateId, correlationId: cause.correlationId,
            causationId: cause.causationId, producer: Self.producer, payload: try JSONValue(encoding: payload))
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
    }

    /// Opens one escrow per order of a successful payment; the payment's amount is split over the
    /// orders by largest remainder (weights: each order's share) so the parts add up exactly, and
    /// so is the part paid with store credit, which the payment's wallet hold supplies.
    func open(for payment: PaymentSucceeded, fees: FeePolicy, source: String, on connection: PostgresConnection) async throws -> [UUID] {
        // Allocation gives nothing for amounts out of range rather than trap: such an event is poison.
        guard payment.amount > 0, !payment.orders.isEmpty, payment.orders.allSatisfy({ $0.amount >= 0 }) else {
            throw EventRejected("payment \(payment.paymentId) of \(payment.amount) over \(payment.orders.count) orders cannot be held")
        }
        let wallet = payment.walletAmount ?? 0
        guard (0...payment.amount).contains(wallet) else {
            throw EventRejected("payment \(payment.paymentId) says \(wallet) of \(payment.amount) came from the wallet")
        }
        let grosses = Allocation.largestRemainder(payment.amount, weights: payment.orders.map(\.amount))
        let walletShares = Allocation.largestRemainder(wallet, weights: grosses)
        var opened: [(id: UUID, order: UUID, gross: Int64, wallet: Int64)] = []
        for (index, part) in payment.orders.enumerated() where grosses[index] > 0 {
            let id = UUID()
            let gross = grosses[index]
            let inserted = try await connection.query(prepared:
                """
                INSERT INTO escrows (id, order_id, payment_id, checkout_id, charge_id, buyer_id, seller_id, currency, gross_amount,
                    wallet_amount, fee_amount, net_amount, status)
                VALUES (\(id), \(part.orderId), \(payment.paymentId), \(payment.checkoutId), \(payment.chargeId),
                    \(payment.buyerId), \(part.sellerId), \(payment.currency), \(gross), \(walletShares[index]), \(fees.fee(on: gross)),
                    \(fees.net(of: gross)), 'held')
                ON CONFLICT (order_id) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect()
            // An order that already has an escrow is not held twice.
            if !inserted.isEmpty { opened.append((id, part.orderId, gross, walletShares[index])) }
        }
        guard !opened.isEmpty else { return [] }
        let fromWallet = opened.reduce(0) { $0 + $1.wallet }
        if fromWallet > 0 {
            try await WalletStore(escrows: self).spendHold(paymentId: payment.paymentId, amount: fromWallet, on: connection)
        }
        try await post(
            .hold(payment: payment.paymentId, escrows: opened.map { ($0.id, $0.gross) }, wallet: fromWallet, currency: payment.currency),
            source: source, on: connection)
        return opened.map(\.order)
    }

    /// The order's escrow, locked for the rest of the transaction.
    func lock(orderId: UUID, on connection: PostgresConnection) async throws -> Escrow? {
        try await connection.query(prepared:
            "SELECT \(unescaped: Escrow.columns) FROM escrows WHERE order_id = \(orderId) FOR UPDATE", logger: logger
        ).collect().first.map(Escrow.init(row:))
    }

    /// Whether a gateway command for the escrow has no outcome yet.
    func hasCommandInFlight(_ escrow: Escrow, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query(prepared:
            "SELECT EXISTS (SELECT 1 FROM gateway_commands WHERE subject = \(escrow.id.uuidString.lowercased()) AND status = 'pending')",
            logger: logger
        ).decode(Bool.self).first { _ in true } ?? false
    }

    /// Whether the payment's success has opened its escrows yet.
    func hasEscrows(paymentId: UUID, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query(prepared:
            "SELECT EXISTS (SELECT 1 FROM escrows WHERE payment_id = \(paymentId))", logger: logger
        ).decode(Bool.self).first { _ in true } ?? false
    }

    func lock(id: UUID, on connection: PostgresConnection) async throws -> Escrow? {
        try await connection.query(prepared:
            "SELECT \(unescaped: Escrow.columns) FROM escrows WHERE id = \(id) FOR UPDATE", logger: logger
        ).collect().first.map(Escrow.init(row:))
    }

    func find(orderId: UUID, on connection: PostgresConnection) async throws -> Escrow? {
        try await connection.query(prepared:
            "SELECT \(unescaped: Escrow.columns) FROM escrows WHERE order_id = \(orderId)", logger: logger
        ).collect().first.map(Escrow.init(row:))
    }

    /// Escrows flagged for admins (held too long, a refund the gateway refused, …), oldest first.
    func flagged(on connection: PostgresConnection) async throws -> [Escrow] {
        try await connection.query(prepared:
            "SELECT \(unescaped: Escrow.columns) FROM escrows WHERE flagged_at IS NOT NULL ORDER BY flagged_at LIMIT 500", logger: logger
        ).collect().map(Escrow.init(row:))
    }

    func flag(_ escrow: Escrow, reason: String, on connection: PostgresConnection) async throws {
        try await connection.query(prepared:
            "UPDATE escrows SET flagged_at = now(), flag_reason = \(reason), updated_at = now() WHERE id = \(escrow.id)", logger: logger)
        logger.warning("escrow flagged for admins", metadata: ["escrow_id": "\(escrow.id)", "reason": "\(reason)"])
    }

    /// The balance of one ledger account (credits positive: what it holds for its owner).
    func balance(of account: LedgerAccount, currency: String, on connection: PostgresConnection) async throws -> Int64 {
        try await connection.query(prepared:
            "SELECT COALESCE(-sum(amount), 0)::bigint FROM journal_entries WHERE account = \(account.description) AND currency = \(currency)",
            logger: logger
        ).decode(Int64.self).all().first ?? 0
    }

    /// The sum of every account per currency; zero everywhere when the ledger balances.
    func imbalance(on connection: PostgresConnection) async throws -> [String: Int64] {
        let rows = try await connection.query(prepared:
            "SELECT currency, sum(amount)::bigint FROM journal_entries GROUP BY currency", logger: logger
        ).decode((String, Int64).self).all()
        return Dictionary(uniqueKeysWithValues: rows.filter { $0.1 != 0 })
    }

    /// Keeps an order event that arrived before the payment opening the escrow; it is applied
    /// right after the escrow opens.
    func deferEvent(_ eventType: String, orderId: UUID, cause: Cause, on connection: PostgresConnection) async throws {
        try await connection.query(prepared:
            """
            INSERT INTO deferred_order_events (order_id, event_type, correlation_id, causation_id)
            VALUES (\(orderId), \(eventType), \(cause.correlationId), \(cause.causationId ?? ""))
            """, logger: logger)
        logger.info("order event deferred until the escrow opens", metadata: ["order_id": "\(orderId)", "type": "\(eventType)"])
    }

    func takeDeferred(orderId: UUID, on connection: PostgresConnection) async throws -> [(type: String, cause: Cause)] {
        let rows = try await connection.query(prepared:
            """
            DELETE FROM deferred_order_events WHERE order_id = \(orderId)
            RETURNING id, event_type, correlation_id, causation_id
            """, logger: logger
        ).decode((Int64, String, String, String).self).all()
        return rows.sorted { $0.0 < $1.0 }.map { (type: $0.1, cause: Cause(correlationId: $0.2, causationId: $0.3)) }
    }
}
