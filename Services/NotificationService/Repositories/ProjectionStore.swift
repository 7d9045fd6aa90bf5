import EventContracts
import Foundation
import Logging
import Persistence
import Messaging
import PostgresNIO
import Synchronization

/// An order as NotificationService last heard of it.
struct ProjectedOrder: Sendable, Equatable {
    var id: UUID
    var orderNumber: String
    var checkoutId: UUID
    var buyerId: String
    var sellerId: String
    var status: String
    var currency: String
    var subtotalAmount: Int64
    var totalAmount: Int64
    var items: [OrderLine]
    var shippingAddress: ShippingAddress
    var carrier: String?
    var trackingNumber: String?
    var autoConfirmAt: Date?
}

/// The projection of other services' events: orders, checkouts and who has which mail address.
struct ProjectionStore: Sendable {
    let logger: Logger

    static let orderColumns = """
        id, order_number, checkout_id, buyer_id, seller_id, status, currency, subtotal_amount, total_amount,
        items::text, shipping_address::text, carrier, tracking_number, auto_confirm_at
        """

    /// Takes the order's snapshot unless a newer event already did; true when this event is the
    /// first of the order here (its row was inserted, not updated or left alone).
    @discardableResult
    func apply(_ event: OrderEvent, occurredAt: Date, on connection: PostgresConnection) async throws -> Bool {
        let order = event.order
        let items = String(decoding: try EventCoding.encoder.encode(order.items), as: UTF8.self)
        let address = String(decoding: try EventCoding.encoder.encode(order.shippingAddress), as: UTF8.self)
        let inserted = try await connection.query(prepared:
            """
            INSERT INTO orders (id, order_number, checkout_id, buyer_id, seller_id, status, currency, subtotal_amount,
                                total_amount, items, shipping_address, carrier, tracking_number, auto_confirm_at, as_of)
            VALUES (\(order.orderId), \(order.orderNumber), \(order.checkoutId), \(order.buyerId), \(order.sellerId),
                    \(order.status), \(order.currency), \(order.subtotalAmount), \(order.totalAmount), \(items)::jsonb,
                    \(address)::jsonb, \(order.carrier), \(order.trackingNumber), \(event.autoConfirmAt), \(occurredAt))
            ON CONFLICT (id) DO UPDATE SET
                status = EXCLUDED.status, items = EXCLUDED.items, shipping_address = EXCLUDED.shipping_address,
                carrier = EXCLUDED.carrier, tracking_number = EXCLUDED.tracking_number,
                auto_confirm_at = EXCLUDED.auto_confirm_at, as_of = EXCLUDED.as_of
            WHERE orders.as_of <= EXCLUDED.as_of
            RETURNING xmax = 0
            """, logger: logger
        ).decode(Bool.self).all().first ?? false
        return inserted
    }

    func apply(_ checkout: CheckoutCreated, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO checkouts (id, buyer_id, currency, total_amount)
            VALUES (\(checkout.checkoutId), \(checkout.buyerId), \(checkout.currency), \(checkout.totalAmount))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
    }

    /// Records users' latest known mail addresses in one statement, rows taken in user-id order
    /// (the global order of contacts' row locks); for a user named twice, the last address counts.
    /// A user whose address is already the one given is left alone, unlocked: most events name
    /// users we know (a listing's seller in every order), and two instances would otherwise queue
    /// on those rows.
    func remember(_ contacts: [(userId: String, email: String?)], on connection: PostgresConnection) async throws {
        var latest: [String: String] = [:]
        for (userId, email) in contacts {
            guard let email, MailAddress(email: email).isValid else { continue }
            latest[userId] = email
        }
        guard !latest.isEmpty else { return }
        let ordered = latest.sorted { $0.key < $1.key }
        let userIds = ordered.map(\.key)
        let emails = ordered.map(\.value)
        let learnt = try await connection.query(prepared:
            """
            INSERT INTO contacts (user_id, email)
            SELECT user_id, email FROM unnest(\(userIds)::text[], \(emails)::text[]) WITH ORDINALITY AS c(user_id, email, position)
            WHERE NOT EXISTS (SELECT 1 FROM contacts known WHERE known.user_id = c.user_id AND known.email = c.email)
            ORDER BY position
            ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, updated_at = now()
            WHERE contacts.email <> EXCLUDED.email
            RETURNING user_id
            """, logger: logger
        ).decode(String.self).all()
        // A new or changed address: emails that waited for one go out on the next pass, not after
        // their backoff. (An address we already had woke them when it was learnt, and a claim
        // fills in the address from contacts.)
        guard !learnt.isEmpty else { return }
        try await connection.query(
            """
            UPDATE notifications SET next_attempt_at = now()
            WHERE recipient_id = ANY(\(learnt)) AND recipient_email IS NULL AND status = 'failed'
            """, logger: logger)
    }

    func order(_ id: UUID, on connection: PostgresConnection) async throws -> ProjectedOrder? {
        try await orders("SELECT \(unescaped: Self.orderColumns) FROM orders WHERE id = \(id)", on: connection).first
    }

    func orders(ofCheckout checkoutId: UUID, on connection: PostgresConnection) async throws -> [ProjectedOrder] {
        try await orders(
            "SELECT \(unescaped: Self.orderColumns) FROM orders WHERE checkout_id = \(checkoutId) ORDER BY order_number",
            on: connection)
    }

    func orders(_ ids: [UUID], on connection: PostgresConnection) async throws -> [UUID: ProjectedOrder] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await orders("SELECT \(unescaped: Self.orderColumns) FROM orders WHERE id = ANY(\(ids))", on: connection)
        return Dictionary(rows.map { ($0.id, $0) }) { first, _ in first }
    }

    struct Checkout: Sendable {
        var buyerId: String
        var currency: String
        var totalAmount: Int64
    }

    /// A checkout from `checkout.created`, or else put together from its orders.
    func checkout(_ id: UUID, on connection: PostgresConnection) async throws -> Checkout? {
        try await connection.query(prepared:
            """
            SELECT buyer_id, currency, total_amount FROM checkouts WHERE id = \(id)
            UNION ALL
            SELECT min(buyer_id), min(currency), sum(total_amount)::bigint FROM orders WHERE checkout_id = \(id) HAVING count(*) > 0
            LIMIT 1
            """, logger: logger
        ).decode((String, String, Int64).self).all().first.map { Checkout(buyerId: $0.0, currency: $0.1, totalAmount: $0.2) }
    }

    /// Remembers the seller's onboarding state; true when it changed (or is new).
    func sellerAccountChanged(
        _ sellerId: String, payoutsEnabled: Bool, currentlyDue: [String], on connection: PostgresConnection
    ) async throws -> Bool {
        let due = currentlyDue.sorted().joined(separator: ",")
        let changed = try await connection.query(
            """
            INSERT INTO seller_accounts (seller_id, payouts_enabled, currently_due) VALUES (\(sellerId), \(payoutsEnabled), \(due))
            ON CONFLICT (seller_id) DO UPDATE SET payouts_enabled = EXCLUDED.payouts_enabled, currently_due = EXCLUDED.currently_due
            WHERE seller_accounts.payouts_enabled <> EXCLUDED.payouts_enabled OR seller_accounts.currently_due <> EXCLUDED.currently_due
            RETURNING seller_id
            """, logger: logger
        ).decode(String.self).all()
        return !changed.isEmpty
    }

    private func orders(_ query: PreparedSQL, on connection: PostgresConnection) async throws -> [ProjectedOrder] {
        let rows = try await connection.query(prepared: query, logger: logger).decode(
            (UUID, String, UUID, String, String, String, String, Int64, Int64, String, String, String?, String?, Date?).self
        ).all()
        return try rows.map { row in
            ProjectedOrder(
                id: row.0, orderNumber: row.1, checkoutId: row.2, buyerId: row.3, sellerId: row.4, status: row.5,
                currency: row.6, subtotalAmount: row.7, totalAmount: row.8,
                items: try EventCoding.decoder.decode([OrderLine].self, from: Data(row.9.utf8)),
                shippingAddress: try EventCoding.decoder.decode(ShippingAddress.self, from: Data(row.10.utf8)),
                carrier: row.11, trackingNumber: row.12, autoConfirmAt: row.13)
        }
    }
}

/// The addresses a consumer transaction's events name, written at its end
/// (`EventContext.atTransactionEnd`) in one statement, rows in user-id order. Written per event,
/// two instances' batches that named the same users in different orders (a buyer whose orders
/// went to both, a seller in many orders) deadlocked on each other's rows; now each batch takes
/// them in the one order, and holds them from that statement to its commit only. Mail queued
/// earlier in the transaction for a user learnt here gets the address when it is claimed.
final class ContactUpdates: TransactionEndWork {
    let projection: ProjectionStore
    private let learnt = Mutex<[(userId: String, email: String?)]>([])

    init(projection: ProjectionStore) {
        self.projection = projection
    }

    func add(_ contacts: [(userId: String, email: String?)]) {
        learnt.withLock { $0.append(contentsOf: contacts) }
    }

    func run(on connection: PostgresConnection, logger: Logger) async throws {
        let due = learnt.withLock { learnt in
            defer { learnt = [] }
            return learnt
        }
        try await projection.remember(due, on: connection)
    }
}
