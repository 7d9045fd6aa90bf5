import EventContracts
import Foundation
import TestSupport

@testable import OrderService

/// OrderService-specific helpers on top of the generic harness.
typealias OrderServiceHarness = ServiceHarness

extension ServiceHarness {
    static func run(
        environment: [String: String] = [:], _ body: @Sendable (ServiceHarness) async throws -> Void
    ) async throws {
        try await run(
            .orderService, topics: [Topic.orders, Topic.payments, Topic.escrow],
            environment: ["ORDER_TIMER_INTERVAL_SECONDS": "1"].merging(environment) { _, new in new }, body)
    }

    func createListing(seller: String, price: Int64 = 2500, currency: String = "usd", stock: Int = 10) async throws -> UUID {
        let reply = try await call(
            .post, "/api/v1/listings", as: seller, roles: ["seller"],
            body: ["title": JSONValue.string("Item of \(seller)"), "priceAmount": .integer(price), "currency": .string(currency), "stock": .integer(Int64(stock))])
        guard reply.status == .created else { throw HarnessError("listing not created: \(reply.status) \(reply.text)") }
        return try UUID(uuidString: reply.json()["id"] as? String ?? "").orThrow("listing id")
    }

    static let address: JSONValue = [
        "name": "Ada Buyer", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "us",
    ]

    /// Places a one-listing order and returns its id.
    func placeOrder(buyer: String, listing: UUID, quantity: Int = 1) async throws -> UUID {
        let reply = try await call(
            .post, "/api/v1/orders", as: buyer, roles: ["buyer"],
            body: ["listingId": JSONValue.string(listing.uuidString), "quantity": .integer(Int64(quantity)), "shippingAddress": Self.address],
            idempotencyKey: UUID().uuidString)
        guard reply.status == .created else { throw HarnessError("order not created: \(reply.status) \(reply.text)") }
        return try UUID(uuidString: reply.json()["id"] as? String ?? "").orThrow("order id")
    }

    func status(of order: UUID) async throws -> String? {
        try await database.client.query("SELECT status FROM orders WHERE id = \(order)", logger: TestEnvironment.logger)
            .decode(String.self).all().first
    }

    func stock(of listing: UUID) async throws -> (stock: Int, reserved: Int, sold: Int) {
        let rows = try await database.client.query(
            "SELECT stock, reserved, sold FROM listings WHERE id = \(listing)", logger: TestEnvironment.logger
        ).decode((Int, Int, Int).self).all()
        return rows[0]
    }
}
