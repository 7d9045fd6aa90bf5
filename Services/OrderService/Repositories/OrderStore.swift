import EventContracts
import Foundation
import HTTPSupport
import Logging
import Messaging
import Persistence
import PostgresNIO

/// Orders in Postgres. Every state change locks the order row, checks the state machine,
/// writes the history and appends the event to the outbox in the caller's transaction.
struct OrderStore: Sendable {
    let logger: Logger
    /// Topic of the order events (with the deployment's prefix).
    let topic: String

    static let producer = "order-service"

    static let columns = """
        id, order_number, checkout_id, buyer_id, buyer_email, seller_id, seller_email, status, currency, subtotal_amount,
        total_amount, shipping_address::text AS shipping_address, carrier, tracking_number, expires_at,
        auto_confirm_at, created_at, updated_at
        """

    /// The order, locked for the rest of the transaction; nil when it does not exist.
    func lock(_ id: UUID, on connection: PostgresConnection) async throws -> Order? {
        let rows = try await connection.query(prepared:
            "SELECT \(unescaped: Self.columns) FROM orders WHERE id = \(id) FOR UPDATE", logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        return try await withItems([try Self.decode(row)], on: connection)[0]
    }

    /// A checkout's orders, locked in id order for the rest of the transaction.
    func lock(checkoutId: UUID, on connection: PostgresConnection) async throws -> [Order] {
        let rows = try await connection.query(prepared:
            "SELECT \(unescaped: Self.columns) FROM orders WHERE checkout_id = \(checkoutId) ORDER BY id FOR UPDATE", logger: logger
        ).collect()
        return try await withItems(try rows.map(Self.decode), on: connection)
    }

    func load(_ id: UUID, on connection: PostgresConnection) async throws -> Order? {
        let rows = try await connection.query(prepared:
            "SELECT \(unescaped: Self.columns) FROM orders WHERE id = \(id)", logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        return try await withItems([try Self.decode(row)], on: connection)[0]
    }

    /// Moves the order to `next` (or throws 409 naming the current state), records history,
    /// applies `changes` to the row and publishes the matching event.
    @discardableResult
    func transition(
        _ order: Order, to next: OrderStatus, cause: Cause, refundRequired: Bool = false,
        on connection: PostgresConnection, changes: (inout Order) -> Void = { _ in }
    ) async throws -> Order {
        do {
            _ = try order.status.moving(to: next)
        } catch {
            throw Problem.conflict(
                "An order in state \(order.status.rawValue) cannot become \(next.rawValue).",
                extensions: ["currentState": order.status.rawValue])
        }
        var updated = order
        updated.status = next
        changes(&updated)
        try await connection.query(prepared:
            """
            UPDATE orders SET status = \(next.rawValue), carrier = \(updated.carrier),
                tracking_number = \(updated.trackingNumber), auto_confirm_at = \(updated.autoConfirmAt),
                updated_at = now()
            WHERE id = \(order.id)
            """, logger: logger)
        try await recordHistory(order.id, from: order.status, to: next, cause: cause, on: connection)
        try await publish(updated, type: next.eventType, from: order.status, cause: cause, refundRequired: refundRequired, on: connection)
        logger.info(
            "order transitioned",
            metadata: [
                "order_id": "\(order.id)", "from": "\(order.status.rawValue)", "to": "\(next.rawValue)",
                "actor": "\(cause.actor)", "correlation_id": "\(cause.correlationId)",
            ])
        return updated
    }

    /// Moves several orders to `next` as `transition` moves one, in two statements whatever their
    /// number: the rows and their history in one, their events (in the orders' order) in the
    /// other. Their other columns do not change.
    @discardableResult
    func transition(_ orders: [Order], to next: OrderStatus, cause: Cause, on connection: PostgresConnection) async throws -> [Order] {
        if orders.isEmpty { return [] }
        if orders.count == 1 { return [try await transition(orders[0], to: next, cause: cause, on: connection)] }
        for order in orders {
            guard (try? order.status.moving(to: next)) != nil else {
                throw Problem.conflict(
                    "An order in state \(order.status.rawValue) cannot become \(next.rawValue).",
                    extensions: ["currentState": order.status.rawValue])
            }
        }
        try await connection.query(prepared:
            """
            WITH moved AS (
                UPDATE orders SET status = \(next.rawValue), updated_at = now() WHERE id = ANY(\(orders.map(\.id)))
            )
            INSERT INTO order_history (order_id, from_status, to_status, actor, reason)
            SELECT h.order_id, h.from_status, \(next.rawValue), \(cause.actor), \(cause.reason)
            FROM unnest(\(orders.map(\.id))::uuid[], \(orders.map(\.status.rawValue))::text[])
                 WITH ORDINALITY AS h(order_id, from_status, position)
            ORDER BY h.position
            """, logger: logger)
        let updated = orders.map { order in
            var updated = order
            updated.status = next
            return updated
        }
        let events = try zip(orders, updated).map { order, updated in
            (envelope: try event(updated, type: next.eventType, from: order.status, cause: cause), topic: topic)
        }
        try await Outbox.append(events, on: connection, logger: logger)
        for order in orders {
            logger.info(
                "order transitioned",
                metadata: [
                    "order_id": "\(order.id)", "from": "\(order.status.rawValue)", "to": "\(next.rawValue)",
                    "actor": "\(cause.actor)", "correlation_id": "\(cause.correlationId)",
                ])
        }
        return updated
    }

    func recordHistory(
        _ orderId: UUID, from: OrderStatus?, to: OrderStatus, cause: Cause, on connection: PostgresConnection
    ) async throws {
        try await connection.query(prepared:
            """
            INSERT INTO order_history (order_id, from_status, to_status, actor, reason)
            VALUES (\(orderId), \(from?.rawValue), \(to.rawValue), \(cause.actor), \(cause.reason))
            """, logger: logger)
    }

    func publish(
        _ order: Order, type: String, from: OrderStatus?, cause: Cause, refundRequired: Bool = false,
        on connection: PostgresConnection
    ) async throws {
        let envelope = try event(order, type: type, from: from, cause: cause, refundRequired: refundRequired)
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
    }

    /// The order's event of `type`, as `publish` appends it.
    func event(_ order: Order, type: String, from: OrderStatus?, cause: Cause, refundRequired: Bool = false) throws -> EventEnvelope {
        let payload = OrderEvent(
            order: order.snapshot(), fromStatus: from?.rawValue, actor: cause.actor, reason: cause.reason,
            refundRequired: refundRequired, autoConfirmAt: order.autoConfirmAt)
        return EventEnvelope(
            type: type, aggregateType: OrderEvent.aggregateType, aggregateId: order.id.uuidString.lowercased(),
            correlationId: cause.correlationId, causationId: cause.causationId, producer: Self.producer,
            payload: try JSONValue(encoding: payload))
    }

    /// Attaches the items of every order with one query.
    func withItems(_ orders: [Order], on connection: PostgresConnection) async throws -> [Order] {
        guard !orders.isEmpty else { return [] }
        let rows = try await connection.query(prepared:
            """
            SELECT order_id, listing_id, title, quantity, unit_price_amount, line_total_amount FROM order_items
            WHERE order_id = ANY(\(orders.map(\.id))) ORDER BY order_id, position
            """, logger: logger
        ).decode((UUID, UUID, String, Int, Int64, Int64).self).all()
        var items: [UUID: [OrderLine]] = [:]
        for row in rows {
            items[row.0, default: []].append(
                OrderLine(listingId: row.1, title: row.2, quantity: row.3, unitPriceAmount: row.4, lineTotalAmount: row.5))
        }
        return orders.map { order in
            var order = order
            order.items = items[order.id] ?? []
            return order
        }
    }

    static func decode(_ row: PostgresRow) throws -> Order {
        let cells = row.makeRandomAccess()
        let address = try JSONDecoder().decode(
            ShippingAddress.self, from: Data(try cells["shipping_address"].decode(String.self).utf8))
        guard let status = OrderStatus(rawValue: try cells["status"].decode(String.self)) else {
            throw StoredValueError(column: "status")
        }
        return Order(
            id: try cells["id"].decode(UUID.self),
            orderNumber: try cells["order_number"].decode(String.self),
            checkoutId: try cells["checkout_id"].decode(UUID.self),
            buyerId: try cells["buyer_id"].decode(String.self),
            buyerEmail: try cells["buyer_email"].decode(String?.self),
            sellerId: try cells["seller_id"].decode(String.self),
            sellerEmail: try cells["seller_email"].decode(String?.self),
            status: status,
            currency: try cells["currency"].decode(String.self),
            subtotalAmount: try cells["subtotal_amount"].decode(Int64.self),
            totalAmount: try cells["total_amount"].decode(Int64.self),
            shippingAddress: address,
            carrier: try cells["carrier"].decode(String?.self),
            trackingNumber: try cells["tracking_number"].decode(String?.self),
            expiresAt: try cells["expires_at"].decode(Date.self),
            autoConfirmAt: try cells["auto_confirm_at"].decode(Date?.self),
            createdAt: try cells["created_at"].decode(Date.self),
            updatedAt: try cells["updated_at"].decode(Date.self),
            items: [])
    }
}

/// A stored value the code does not recognise (a newer version wrote it, or it was edited).
struct StoredValueError: Error {
    let column: String
}
