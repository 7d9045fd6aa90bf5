import EventContracts
import Foundation
import HTTPSupport
import Messaging
import Logging
import Persistence
import PostgresNIO
import Synchronization

extension OrderStore {
    /// Reserves stock and creates the checkout, one order per seller, their history and the
    /// `checkout.created` and `order.placed` events, all in the caller's transaction.
    func createCheckout(
        _ plan: CheckoutPlan, buyer: AuthenticatedUser, shippingAddress: ShippingAddress, expiresAt: Date, useWallet: Bool? = nil,
        cause: Cause, on connection: PostgresConnection
    ) async throws -> (checkoutId: UUID, orders: [Order]) {
        let checkoutId = UUID.version7()
        try await connection.query(prepared:
            """
            INSERT INTO checkouts (id, buyer_id, currency, total_amount)
            VALUES (\(checkoutId), \(buyer.id), \(plan.currency), \(plan.totalAmount))
            """, logger: logger)
        let address = String(decoding: try JSONEncoder().encode(shippingAddress), as: UTF8.self)
        var orders: [Order] = []
        var events: [(envelope: EventEnvelope, topic: String)] = []
        for sellerOrder in plan.orders {
            let id = UUID.version7()
            let lines = sellerOrder.lines
            // The order, its lines and its first history row in one statement (one round trip
            // instead of two plus one per line); the lines' and history's foreign keys are
            // checked at the statement's end, when the order row is there.
            let rows = try await connection.query(prepared:
                """
                WITH placed AS (
                    INSERT INTO orders (id, order_number, checkout_id, buyer_id, buyer_email, seller_id, seller_email, status,
                        currency, subtotal_amount, total_amount, shipping_address, expires_at)
                    VALUES (\(id), 'EM-' || to_char(now(), 'YYMMDD') || '-' || lpad(nextval('order_number_seq')::text, 6, '0'),
                        \(checkoutId), \(buyer.id), \(buyer.email), \(sellerOrder.sellerId),
                        (SELECT seller_email FROM listings WHERE id = \(lines[0].listingId)), \(OrderStatus.pendingPayment.rawValue),
                        \(plan.currency), \(sellerOrder.totalAmount), \(sellerOrder.totalAmount), \(address)::jsonb, \(expiresAt))
                    RETURNING \(unescaped: Self.columns)
                ), items AS (
                    INSERT INTO order_items (order_id, position, listing_id, title, quantity, unit_price_amount, line_total_amount)
                    SELECT \(id), line.position - 1, line.listing_id, line.title, line.quantity, line.unit_price, line.line_total
                    FROM unnest(\(lines.map(\.listingId))::uuid[], \(lines.map(\.title))::text[], \(lines.map(\.quantity))::bigint[],
                                \(lines.map(\.unitPriceAmount))::bigint[], \(lines.map(\.lineTotalAmount))::bigint[])
                         WITH ORDINALITY AS line(listing_id, title, quantity, unit_price, line_total, position)
                ), history AS (
                    INSERT INTO order_history (order_id, from_status, to_status, actor, reason)
                    VALUES (\(id), NULL, \(OrderStatus.pendingPayment.rawValue), \(cause.actor), \(cause.reason))
                )
                SELECT * FROM placed
                """, logger: logger
            ).collect()
            var order = try Self.decode(rows[0])
            order.items = lines
            events.append((try event(order, type: OrderStatus.pendingPayment.eventType, from: nil, cause: cause), topic))
            orders.append(order)
        }

        let created = CheckoutCreated(
            checkoutId: checkoutId, buyerId: buyer.id, buyerEmail: buyer.email, currency: plan.currency,
            totalAmount: plan.totalAmount,
            orders: orders.map { .init(orderId: $0.id, orderNumber: $0.orderNumber, sellerId: $0.sellerId, totalAmount: $0.totalAmount) },
            expiresAt: expiresAt, useWallet: useWallet)
        let envelope = try EventEnvelope(
            payload: created, aggregateId: checkoutId.uuidString.lowercased(), correlationId: cause.correlationId,
            causationId: cause.causationId, producer: Self.producer)
        events.append((envelope, topic))
        // Every order.placed, then checkout.created, in one statement.
        try await Outbox.append(events, on: connection, logger: logger)

        // Stock last: the listings are the rows every checkout and payment of an item contends
        // for, so they are locked only for the commit, all in one statement. In listing-id order
        // (the `ORDER BY` under the lock clause locks them as it reads them; `NO KEY UPDATE`, as
        // an `UPDATE` takes, so that the foreign-key checks of other checkouts' order lines,
        // which share-lock the listing's key, do not wait on it), the global order of
        // StockMoves, so concurrent checkouts and payments cannot deadlock each other. A listing
        // without enough stock (checked on its locked row) is missing from the answer, and rolls
        // the whole checkout back.
        var quantities: [UUID: Int] = [:]
        for line in plan.orders.flatMap(\.lines) { quantities[line.listingId, default: 0] += line.quantity }
        let wanted = quantities.sorted { $0.key.uuidString < $1.key.uuidString }
        let reserved = try await connection.query(prepared:
            """
            WITH wanted AS (
                SELECT * FROM unnest(\(wanted.map(\.key))::uuid[], \(wanted.map(\.value))::bigint[]) AS w(id, quantity)
            ), locked AS (
                SELECT l.id, w.quantity FROM listings l JOIN wanted w ON w.id = l.id
                WHERE l.active AND l.stock >= w.quantity
                ORDER BY l.id FOR NO KEY UPDATE OF l
            )
            UPDATE listings l SET stock = l.stock - locked.quantity, reserved = l.reserved + locked.quantity, updated_at = now()
            FROM locked WHERE l.id = locked.id
            RETURNING l.id
            """, logger: logger
        ).decode(UUID.self).all()
        if let short = wanted.first(where: { !reserved.contains($0.key) }) {
            throw Problem.conflict(
                "Not enough stock left for listing \(short.key.uuidString.lowercased()).",
                extensions: ["listingId": short.key.uuidString.lowercased()])
        }
        return (checkoutId, orders)
    }

    /// Moves the orders' units between a listing's counts now (see `StockMoves`).
    func moveStock(_ move: StockMove, of orders: [Order], on connection: PostgresConnection) async throws {
        let moves = StockMoves()
        moves.add(move, of: orders)
        try await moves.run(on: connection, logger: logger)
    }

    /// Listings by id as checkout prices them.
    func listingsForSale(_ ids: [UUID], on connection: PostgresConnection) async throws -> [UUID: ListingForSale] {
        let rows = try await connection.query(prepared:
            "SELECT id, seller_id, title, price_amount, currency, active FROM listings WHERE id = ANY(\(ids))",
            logger: logger
        ).decode((UUID, String, String, Int64, String, Bool).self).all()
        return Dictionary(uniqueKeysWithValues: rows.map {
            ($0.0, ListingForSale(id: $0.0, sellerId: $0.1, title: $0.2, priceAmount: $0.3, currency: $0.4, active: $0.5))
        })
    }
}

/// Units to move between listings' counts, merged per listing, written at the end of the
/// transaction (a consumer's batch leaves them for its end: `EventContext.atTransactionEnd`) in
/// one statement that locks the listings in id order: every transaction that touches several
/// listings takes them in that one global order (checkout too), so two of them cannot deadlock on
/// each other's listings, and a listing is locked from its update to the commit only.
final class StockMoves: TransactionEndWork {
    fileprivate struct Delta {
        var stock = 0
        var reserved = 0
        var sold = 0
    }

    private let deltas = Mutex<[UUID: Delta]>([:])

    func add(_ move: StockMove, of orders: [Order]) {
        deltas.withLock { deltas in
            for line in orders.flatMap(\.items) {
                var delta = deltas[line.listingId] ?? Delta()
                delta[keyPath: move.fromKey] -= line.quantity
                delta[keyPath: move.toKey] += line.quantity
                deltas[line.listingId] = delta
            }
        }
    }

    func run(on connection: PostgresConnection, logger: Logger) async throws {
        let due = deltas.withLock { deltas in
            defer { deltas = [:] }
            return deltas
        }
        let moves = due.filter { $0.value.stock != 0 || $0.value.reserved != 0 || $0.value.sold != 0 }
            .sorted { $0.key.uuidString < $1.key.uuidString }
        guard !moves.isEmpty else { return }
        // Every listing in one statement (a batch of payments moved one statement per listing),
        // locked in id order as checkout locks them: the `ORDER BY` under the lock clause takes
        // the rows' locks in that order as it reads them.
        try await connection.query(prepared:
            """
            WITH moves AS (
                SELECT * FROM unnest(\(moves.map(\.key))::uuid[], \(moves.map { Int64($0.value.stock) })::bigint[],
                                     \(moves.map { Int64($0.value.reserved) })::bigint[], \(moves.map { Int64($0.value.sold) })::bigint[])
                    AS m(id, stock, reserved, sold)
            ), locked AS (
                SELECT l.id, m.stock, m.reserved, m.sold FROM listings l JOIN moves m ON m.id = l.id
                ORDER BY l.id FOR NO KEY UPDATE OF l
            )
            UPDATE listings l SET stock = l.stock + locked.stock, reserved = l.reserved + locked.reserved,
                sold = l.sold + locked.sold, updated_at = now()
            FROM locked WHERE l.id = locked.id
            """, logger: logger)
    }
}

/// Where an order's units go when its state changes.
enum StockMove {
    /// Payment succeeded: reserved units are sold.
    case sell
    /// An unpaid order was cancelled or expired: reserved units go back on sale.
    case release
    /// A paid order was cancelled before shipment: sold units go back on sale.
    case restock

    fileprivate var fromKey: WritableKeyPath<StockMoves.Delta, Int> {
        switch self {
        case .sell, .release: \.reserved
        case .restock: \.sold
        }
    }

    fileprivate var toKey: WritableKeyPath<StockMoves.Delta, Int> {
        switch self {
        case .sell: \.sold
        case .release, .restock: \.stock
        }
    }
}
