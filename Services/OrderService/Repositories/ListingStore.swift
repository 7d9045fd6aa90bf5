import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import PostgresNIO

/// A listing as the API shows it.
struct Listing: Codable, Sendable, Equatable, ResponseEncodable {
    var id: UUID
    var sellerId: String
    var title: String
    var description: String
    var priceAmount: Int64
    var currency: String
    /// Units still for sale (not reserved by unpaid orders, not sold).
    var stock: Int
    var reserved: Int
    var sold: Int
    var active: Bool
    var createdAt: Date
    var updatedAt: Date
}

/// Listings in Postgres.
struct ListingStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    static let columns = "id, seller_id, title, description, price_amount, currency, stock, reserved, sold, active, created_at, updated_at"

    func create(
        sellerId: String, sellerEmail: String?, title: String, description: String, priceAmount: Int64, currency: String, stock: Int
    ) async throws -> Listing {
        let rows = try await client.query(
            """
            INSERT INTO listings (id, seller_id, seller_email, title, description, price_amount, currency, stock)
            VALUES (\(UUID()), \(sellerId), \(sellerEmail), \(title), \(description), \(priceAmount), \(currency), \(stock))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger
        ).collect()
        return try Self.decode(rows[0])
    }

    func find(_ id: UUID) async throws -> Listing? {
        try await client.query("SELECT \(unescaped: Self.columns) FROM listings WHERE id = \(id)", logger: logger)
            .collect().first.map(Self.decode)
    }

    /// Applies the fields that are set; stock is the number of units available for sale.
    func update(
        _ id: UUID, priceAmount: Int64?, stock: Int?, active: Bool?, title: String?, description: String?
    ) async throws -> Listing? {
        try await client.query(
            """
            UPDATE listings SET
                price_amount = COALESCE(\(priceAmount), price_amount), stock = COALESCE(\(stock), stock),
                active = COALESCE(\(active), active), title = COALESCE(\(title), title),
                description = COALESCE(\(description), description), updated_at = now()
            WHERE id = \(id) RETURNING \(unescaped: Self.columns)
            """, logger: logger
        ).collect().first.map(Self.decode)
    }

    /// Newest first, keyset-paginated on (created_at, id).
    func list(sellerId: String?, activeOnly: Bool, after cursor: PageCursor?, limit: Int) async throws -> [Listing] {
        try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM listings
            WHERE (\(sellerId)::text IS NULL OR seller_id = \(sellerId))
              AND (NOT \(activeOnly) OR active)
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (created_at, id) < (\(cursor?.createdAt), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, logger: logger
        ).collect().map(Self.decode)
    }

    static func decode(_ row: PostgresRow) throws -> Listing {
        let (id, sellerId, title, description, price, currency, stock, reserved, sold, active, created, updated) =
            try row.decode((UUID, String, String, String, Int64, String, Int, Int, Int, Bool, Date, Date).self)
        return Listing(
            id: id, sellerId: sellerId, title: title, description: description, priceAmount: price, currency: currency,
            stock: stock, reserved: reserved, sold: sold, active: active, createdAt: created, updatedAt: updated)
    }
}
