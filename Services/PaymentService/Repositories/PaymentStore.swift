import EventContracts
import Foundation
import Hummingbird
import Logging
import Messaging
import Persistence
import PostgresNIO

/// A payment as stored and shown.
struct Payment: Sendable, Equatable, Encodable, ResponseEncodable {
    struct Part: Sendable, Equatable, Encodable {
        var orderId: UUID
        var orderNumber: String
        var sellerId: String
        var amount: Int64
    }

    var id: UUID
    var checkoutId: UUID
    var buyerId: String
    var currency: String
    var amount: Int64
    var status: PaymentStatus
    var intentId: String?
    var chargeId: String?
    var failureReason: String?
    var amountRefunded: Int64
    var createdAt: Date
    var updatedAt: Date
    var orders: [Part]
    /// The buyer asked to spend store credit first (`wallet.hold_requested` was sent).
    var walletRequested: Bool = false
    /// What EscrowService held of the wallet for this payment (`wallet.held`); nil until known.
    var walletAmount: Int64?

    /// What the card is charged: the amount less the store credit spent.
    var cardAmount: Int64 { amount - (walletAmount ?? 0) }

    /// What store credit paid of each order (the same split EscrowService makes).
    var walletShares: [UUID: Int64] {
        let shares = Allocation.largestRemainder(walletAmount ?? 0, weights: orders.map(\.amount))
        return Dictionary(uniqueKeysWithValues: zip(orders.map(\.orderId), shares))
    }
}

/// Payments in Postgres; every status change writes the trail and, where other services care,
/// an event to the outbox in the same transaction.
struct PaymentStore: Sendable {
    let logger: Logger
    let topic: String

    static let producer = "payment-service"
    static let columns = """
        id, checkout_id, buyer_id, currency, amount, status, intent_id, charge_id, failure_reason, amount_refunded,
        created_at, updated_at, wallet_requested, wallet_amount
        """

    /// The columns, then the orders the payment covers as four arrays (by order number), so one
    /// statement loads a whole payment (`decodeWithOrders`).
    static let columnsWithOrders = columns + """
        ,
        ARRAY(SELECT po.order_id FROM payment_orders po WHERE po.payment_id = payments.id ORDER BY po.order_number),
        ARRAY(SELECT po.order_number FROM payment_orders po WHERE po.payment_id = payments.id ORDER BY po.order_number),
        ARRAY(SELECT po.seller_id FROM payment_orders po WHERE po.payment_id = payments.id ORDER BY po.order_number),
        ARRAY(SELECT po.amount FROM payment_orders po WHERE po.payment_id = payments.id ORDER BY po.order_number)
        """

    /// The channel on which a new payment is announced (its checkout id and order ids), for the
    /// create-intent requests that wait for it (`ArrivalListener`).
    static let arrivals = "payment_created"

    /// Creates the payment for a new checkout (once; a replayed event finds it already there):
    /// the payment, its orders, its first trail entry and the announcement to waiting
    /// create-intent requests (sent at commit) in one statement.
    func create(from checkout: CheckoutCreated, on connection: PostgresConnection) async throws {
        let orders = checkout.orders
        let announced = ([checkout.checkoutId] + orders.map(\.orderId)).map { $0.uuidString.lowercased() }
        try await connection.query(prepared:
            """
            WITH created AS (
                INSERT INTO payments (id, checkout_id, buyer_id, buyer_email, currency, amount, status, expires_at)
                VALUES (\(UUID()), \(checkout.checkoutId), \(checkout.buyerId), \(checkout.buyerEmail), \(checkout.currency),
                    \(checkout.totalAmount), \(PaymentStatus.requiresPayment.rawValue), \(checkout.expiresAt))
                ON CONFLICT (checkout_id) DO NOTHING RETURNING id
            ), parts AS (
                INSERT INTO payment_orders (order_id, payment_id, order_number, seller_id, amount)
                SELECT part.order_id, created.id, part.order_number, part.seller_id, part.amount
                FROM created, unnest(\(orders.map(\.orderId))::uuid[], \(orders.map(\.orderNumber))::text[],
                                     \(orders.map(\.sellerId))::text[], \(orders.map(\.totalAmount))::int8[])
                    AS part(order_id, order_number, seller_id, amount)
            ), trail AS (
                INSERT INTO payment_trail (payment_id, kind, detail)
                SELECT id, 'created', \("checkout \(checkout.checkoutId.uuidString.lowercased())") FROM created
            )
            SELECT pg_notify(\(Self.arrivals), \(ArrivalListener.payload(announced))) FROM created
            """, logger: logger)
    }

    func lock(where condition: PreparedSQL, on connection: PostgresConnection) async throws -> Payment? {
        var query = condition
        query.sql = "SELECT \(Self.columnsWithOrders) FROM payments WHERE \(condition.sql) FOR UPDATE OF payments"
        guard let row = try await connection.query(prepared: query, logger: logger).collect().first else { return nil }
        return try Self.decodeWithOrders(row)
    }

    func lock(id: UUID, on connection: PostgresConnection) async throws -> Payment? {
        try await lock(where: "id = \(id)", on: connection)
    }

    func find(id: UUID, on connection: PostgresConnection) async throws -> Payment? {
        guard let row = try await connection.query(prepared:
            "SELECT \(unescaped: Self.columnsWithOrders) FROM payments WHERE id = \(id)", logger: logger
        ).collect().first else { return nil }
        return try Self.decodeWithOrders(row)
    }

    /// The payment that covers an order or a checkout (each an index lookup).
    func paymentId(orderId: UUID?, checkoutId: UUID?, on connection: PostgresConnection) async throws -> UUID? {
        if let checkoutId {
            return try await connection.query(prepared: "SELECT id FROM payments WHERE checkout_id = \(checkoutId)", logger: logger)
                .decode(UUID.self).all().first
        }
        guard let orderId else { return nil }
        return try await connection.query(prepared: "SELECT payment_id FROM payment_orders WHERE order_id = \(orderId)", logger: logger)
            .decode(UUID.self).all().first
    }

    func setIntent(_ paymentId: UUID, intentId: String, clientSecret: String?, on connection: PostgresConnection) async throws {
        try await connection.query(prepared:
            """
            WITH updated AS (
                UPDATE payments SET intent_id = \(intentId), client_secret = \(clientSecret),
                    status = CASE WHEN status = 'requires_payment' THEN 'processing' ELSE status END, updated_at = now()
                WHERE id = \(paymentId) RETURNING id
            )
            INSERT INTO payment_trail (payment_id, kind, detail) SELECT id, 'intent_created', \(intentId) FROM updated
            """, logger: logger)
    }

    /// The payment's Checkout Session, once Stripe made it (a later one replaces an expired one).
    func setCheckoutSession(_ paymentId: UUID, sessionId: String, url: String, expiresAt: Int64, on connection: PostgresConnection) async throws {
        let expires = Date(timeIntervalSince1970: TimeInterval(min(max(expiresAt, 0), 253_402_300_799)))
        try await connection.query(prepared:
            """
            UPDATE payments SET checkout_session_id = \(sessionId), checkout_session_url = \(url),
                checkout_session_expires_at = \(expires), updated_at = now()
            WHERE id = \(paymentId) AND intent_id IS NULL
            """, logger: logger)
        try await trail(paymentId, "checkout_session_created", sessionId, on: connection)
    }

    /// The payment's current Checkout Session (id, url, expiry), if it has one.
    /// The payment locked, with its current Checkout Session if it has one, in one statement
    /// (create-intent's decision).
    func lockWithCheckoutSession(
        id: UUID, on connection: PostgresConnection
    ) async throws -> (payment: Payment, session: (id: String, url: String, expiresAt: Date)?)? {
        guard let row = try await connection.query(prepared:
            """
            SELECT \(unescaped: Self.columnsWithOrders), checkout_session_id, checkout_session_url, checkout_session_expires_at
            FROM payments WHERE id = \(id) FOR UPDATE OF payments
            """, logger: logger
        ).collect().first else { return nil }
        let cells = row.makeRandomAccess()
        let (sessionId, url, expiresAt) = (try cells[18].decode(String?.self), try cells[19].decode(String?.self), try cells[20].decode(Date?.self))
        let session = sessionId.flatMap { id in url.flatMap { url in expiresAt.map { (id: id, url: url, expiresAt: $0) } } }
        return (try Self.decodeWithOrders(row), session)
    }

    func checkoutSession(_ paymentId: UUID, on connection: PostgresConnection) async throws -> (id: String, url: String, expiresAt: Date)? {
        try await connection.query(prepared:
            """
            SELECT checkout_session_id, checkout_session_url, checkout_session_expires_at FROM payments
            WHERE id = \(paymentId) AND checkout_session_id IS NOT NULL
            """, logger: logger
        ).decode((String, String, Date).self).all().first.map { (id: $0.0, url: $0.1, expiresAt: $0.2) }
    }

    /// Stripe expired the session (and cancelled the intent it made for a declined attempt): the
    /// payment can get a new session, or an intent, unless it was paid.
    func clearCheckoutSession(_ sessionId: String, on connection: PostgresConnection) async throws -> UUID? {
        let rows = try await connection.query(prepared:
            """
            UPDATE payments SET checkout_session_id = NULL, checkout_session_url = NULL, checkout_session_expires_at = NULL,
                intent_id = NULL, client_secret = NULL,
                status = CASE WHEN status = 'processing' THEN 'requires_payment' ELSE status END, updated_at = now()
            WHERE checkout_session_id = \(sessionId) AND status IN ('requires_payment', 'processing', 'failed') RETURNING id
            """, logger: logger
        ).decode(UUID.self).all()
        for id in rows { try await trail(id, "checkout_session_expired", sessionId, on: connection) }
        return rows.first
    }

    /// A payment with its intent's client secret, in one read (create-intent's answer).
    func findWithClientSecret(id: UUID, on connection: PostgresConnection) async throws -> (payment: Payment, clientSecret: String?)? {
        guard let row = try await connection.query(prepared:
            "SELECT \(unescaped: Self.columnsWithOrders), client_secret FROM payments WHERE id = \(id)", logger: logger
        ).collect().first else { return nil }
        return (try Self.decodeWithOrders(row), try row.makeRandomAccess()[18].decode(String?.self))
    }

    func clientSecret(_ paymentId: UUID, on connection: PostgresConnection) async throws -> String? {
        try await connection.query(prepared: "SELECT client_secret FROM payments WHERE id = \(paymentId)", logger: logger)
            .decode(String?.self).all().first ?? nil
    }

    /// Applies an outcome if it moves the payment forward; returns whether it did.
    @discardableResult
    func move(
        _ payment: Payment, to next: PaymentStatus, chargeId: String? = nil, failureReason: String? = nil, detail: String,
        correlationId: String, causationId: String?, on connection: PostgresConnection
    ) async throws -> Bool {
        guard payment.status.accepts(next) else {
            logger.info(
                "stale payment outcome ignored",
                metadata: ["payment_id": "\(payment.id)", "status": "\(payment.status.rawValue)", "outcome": "\(next.rawValue)"])
            return false
        }
        try await connection.query(prepared:
            """
            WITH moved AS (
                UPDATE payments SET status = \(next.rawValue), charge_id = COALESCE(\(chargeId), charge_id),
                    failure_reason = \(failureReason), updated_at = now()
                WHERE id = \(payment.id) RETURNING id
            )
            INSERT INTO payment_trail (payment_id, kind, detail) SELECT id, \(next.rawValue), \(detail) FROM moved
            """, logger: logger)
        switch next {
        case .succeeded:
            try await publish(
                PaymentSucceeded(
                    paymentId: payment.id, checkoutId: payment.checkoutId, chargeId: chargeId ?? payment.chargeId,
                    amount: payment.amount, currency: payment.currency,
                    orders: payment.orders.map { .init(orderId: $0.orderId, sellerId: $0.sellerId, amount: $0.amount) },
                    buyerId: payment.buyerId, walletAmount: (payment.walletAmount ?? 0) > 0 ? payment.walletAmount : nil),
                payment: payment, correlationId: correlationId, causationId: causationId, on: connection)
        case .failed, .cancelled:
            try await publish(
                PaymentFailed(paymentId: payment.id, checkoutId: payment.checkoutId, reason: failureReason ?? next.rawValue),
                payment: payment, correlationId: correlationId, causationId: causationId, on: connection)
        default:
            break
        }
        return true
    }

    /// The buyer spends store credit first: EscrowService is asked to hold up to the whole amount.
    /// Decided once per payment, before any intent.
    func requestWallet(_ payment: Payment, correlationId: String, causationId: String? = nil, on connection: PostgresConnection) async throws {
        try await connection.query(prepared:
            "UPDATE payments SET wallet_requested = true, updated_at = now() WHERE id = \(payment.id)", logger: logger)
        try await trail(payment.id, "wallet_requested", "up to \(payment.amount) \(payment.currency) of store credit", on: connection)
        try await publish(
            WalletHoldRequested(
                paymentId: payment.id, checkoutId: payment.checkoutId, buyerId: payment.buyerId, maximum: payment.amount,
                currency: payment.currency),
            payment: payment, correlationId: correlationId, causationId: causationId, on: connection)
    }

    /// EscrowService held `event.amount` of the wallet: the card pays the rest. Wakes the
    /// create-intent request waiting for it.
    func walletHeld(_ event: WalletHeld, on connection: PostgresConnection) async throws {
        guard let payment = try await lock(id: event.paymentId, on: connection) else {
            throw EventRejected("wallet.held for unknown payment \(event.paymentId)")
        }
        guard payment.walletRequested, payment.walletAmount == nil else { return }
        guard (0...payment.amount).contains(event.amount), event.currency == payment.currency else {
            throw EventRejected("wallet.held of \(event.amount) \(event.currency) for a payment of \(payment.amount) \(payment.currency)")
        }
        try await connection.query(prepared:
            "UPDATE payments SET wallet_amount = \(event.amount), updated_at = now() WHERE id = \(payment.id)", logger: logger)
        try await trail(payment.id, "wallet_held", "\(event.amount) \(event.currency) of store credit", on: connection)
        try await ArrivalListener.notify(channel: Self.arrivals, keys: [Self.walletKey(payment.id)], on: connection, logger: logger)
    }

    /// What a create-intent request waiting for the wallet's answer listens for.
    static func walletKey(_ paymentId: UUID) -> String { "wallet:\(paymentId.uuidString.lowercased())" }

    func trail(_ paymentId: UUID, _ kind: String, _ detail: String?, on connection: PostgresConnection) async throws {
        try await connection.query(prepared:
            "INSERT INTO payment_trail (payment_id, kind, detail) VALUES (\(paymentId), \(kind), \(detail))", logger: logger)
    }

    private func publish<Payload: DomainEventPayload>(
        _ payload: Payload, payment: Payment, correlationId: String, causationId: String?, on connection: PostgresConnection
    ) async throws {
        let envelope = try EventEnvelope(
            payload: payload, aggregateId: payment.id.uuidString.lowercased(), correlationId: correlationId,
            causationId: causationId, producer: Self.producer)
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
    }

    /// Attaches the orders each payment covers, with one query.
    func withOrders(_ payments: [Payment], on connection: PostgresConnection) async throws -> [Payment] {
        guard !payments.isEmpty else { return [] }
        let rows = try await connection.query(prepared:
            """
            SELECT payment_id, order_id, order_number, seller_id, amount FROM payment_orders
            WHERE payment_id = ANY(\(payments.map(\.id))) ORDER BY order_number
            """, logger: logger
        ).decode((UUID, UUID, String, String, Int64).self).all()
        var parts: [UUID: [Payment.Part]] = [:]
        for row in rows {
            parts[row.0, default: []].append(Payment.Part(orderId: row.1, orderNumber: row.2, sellerId: row.3, amount: row.4))
        }
        return payments.map { payment in
            var payment = payment
            payment.orders = parts[payment.id] ?? []
            return payment
        }
    }

    /// A row of `columnsWithOrders`.
    static func decodeWithOrders(_ row: PostgresRow) throws -> Payment {
        var payment = try decode(row)
        let cells = row.makeRandomAccess()
        let orderIds = try cells[14].decode([UUID].self)
        let numbers = try cells[15].decode([String].self)
        let sellers = try cells[16].decode([String].self)
        let amounts = try cells[17].decode([Int64].self)
        guard numbers.count == orderIds.count, sellers.count == orderIds.count, amounts.count == orderIds.count else {
            throw PersistenceError(code: "decode", message: "a payment's order arrays differ in length")
        }
        payment.orders = orderIds.indices.map {
            Payment.Part(orderId: orderIds[$0], orderNumber: numbers[$0], sellerId: sellers[$0], amount: amounts[$0])
        }
        return payment
    }

    static func decode(_ row: PostgresRow) throws -> Payment {
        let (id, checkout, buyer, currency, amount, status, intent, charge, failure, refunded, created, updated, walletRequested, wallet) =
            try row.decode((UUID, UUID, String, String, Int64, String, String?, String?, String?, Int64, Date, Date, Bool, Int64?).self)
        return Payment(
            id: id, checkoutId: checkout, buyerId: buyer, currency: currency, amount: amount,
            status: PaymentStatus(rawValue: status) ?? .requiresPayment, intentId: intent, chargeId: charge,
            failureReason: failure, amountRefunded: refunded, createdAt: created, updatedAt: updated, orders: [],
            walletRequested: walletRequested, walletAmount: wallet)
    }
}
