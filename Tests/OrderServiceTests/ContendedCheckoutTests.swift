import AsyncHTTPClient
import EventContracts
import Foundation
import NIOCore
import Testing
import TestSupport

@testable import OrderService

/// Many buyers checking out multi-seller carts over the same listings while their payments
/// arrive: every transaction takes listings in one global order, so none deadlocks.
@Suite struct ContendedCheckoutTests {
    @Test func concurrentMultiSellerCheckoutsAndPaymentsOnTheSameListingsNeverFail() async throws {
        try await OrderServiceHarness.run { service in
            var listings: [UUID] = []
            for seller in ["seller-w", "seller-x", "seller-y", "seller-z"] {
                for _ in 0..<2 { listings.append(try await service.createListing(seller: seller, price: 1000, stock: 500)) }
            }
            let buyers = 24
            let port = try #require(service.port)
            var tokens: [String] = []
            for buyer in 0..<buyers { tokens.append(try await service.token("buyer-\(buyer)", ["buyer"])) }
            let statuses = try await withThrowingTaskGroup(of: (Int, UUID?).self) { group in
                for buyer in 0..<buyers {
                    let cart = Array(listings.shuffled().prefix(2 + buyer % 3))
                    let token = tokens[buyer]
                    group.addTask {
                        // All at once, through a client with a generous timeout: on a loaded test
                        // machine the checkouts queue on the listings' row locks longer than the
                        // harness client waits.
                        let body: JSONValue = [
                            "items": .array(cart.map { ["listingId": .string($0.uuidString), "quantity": 1] }),
                            "shippingAddress": OrderServiceHarness.address,
                        ]
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/checkouts")
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "Idempotency-Key", value: "contended-\(buyer)")
                        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                        let raw = try await response.body.collect(upTo: 1 << 20)
                        guard response.status == .created else { return (Int(response.status.code), nil) }
                        let json = try (JSONSerialization.jsonObject(with: Data(buffer: raw)) as? [String: Any]).orThrow("checkout")
                        let checkout = try UUID(uuidString: json["checkoutId"] as? String ?? json["id"] as? String ?? "").orThrow("checkout id")
                        let orders = try (json["orders"] as? [[String: Any]]).orThrow("orders").map { order in
                            PaymentSucceeded.Part(
                                orderId: UUID(uuidString: order["id"] as? String ?? "")!, sellerId: order["sellerId"] as? String ?? "",
                                amount: Int64(order["totalAmount"] as? Int ?? 0))
                        }
                        // The payment lands while other buyers still check out the same listings.
                        try await service.publish(
                            PaymentSucceeded(
                                paymentId: UUID(), checkoutId: checkout, chargeId: "ch_\(buyer)", amount: orders.reduce(0) { $0 + $1.amount },
                                currency: "usd", orders: orders),
                            topic: Topic.payments, aggregateId: checkout.uuidString.lowercased())
                        return (201, checkout)
                    }
                }
                var all: [(Int, UUID?)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(statuses.allSatisfy { $0.0 == 201 }, "\(statuses.map(\.0))")
            let orders = try await service.database.count("SELECT count(*) FROM orders")
            #expect(try await service.eventually(timeout: .seconds(60)) {
                try await service.database.count("SELECT count(*) FROM orders WHERE status = 'paid'") == orders
            })
            // Every unit is accounted for, and nothing is left reserved once everything is paid.
            let sold = try await service.database.count("SELECT sum(sold)::int8 FROM listings")
            #expect(try await service.database.count("SELECT sum(stock + reserved + sold)::int8 FROM listings") == 8 * 500)
            #expect(try await service.database.count("SELECT sum(reserved)::int8 FROM listings") == 0)
            #expect(try await service.database.count("SELECT sum(quantity)::int8 FROM order_items") == sold)
            // Nothing was parked: the consumer handled every payment.
            #expect(try await service.database.count("SELECT count(*) FROM inbox WHERE event_type = 'payment.succeeded'") == buyers)
        }
    }
}
