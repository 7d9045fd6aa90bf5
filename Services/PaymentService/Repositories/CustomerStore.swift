import Logging
import PostgresNIO

/// Each buyer's Stripe Customer id.
struct CustomerStore: Sendable {
    let logger: Logger

    func customerId(buyerId: String, on connection: PostgresConnection) async throws -> String? {
        try await connection.query("SELECT customer_id FROM buyer_customers WHERE buyer_id = \(buyerId)", logger: logger)
            .decode(String.self).all().first
    }

    /// Records the customer the gateway created for the buyer; the first one recorded stays.
    func record(buyerId: String, customerId: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "INSERT INTO buyer_customers (buyer_id, customer_id) VALUES (\(buyerId), \(customerId)) ON CONFLICT (buyer_id) DO NOTHING",
            logger: logger)
    }
}
