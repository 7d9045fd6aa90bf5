import EventContracts
import Foundation
import Testing
import TestSupport

@testable import OrderService

@Suite struct SellerEmailTests {
    @Test func orderEventsCarryTheSellersAddressFromTheListing() async throws {
        try await OrderServiceHarness.run { service in
            let listing = try await service.createListing(seller: "seller-mail")
            _ = try await service.placeOrder(buyer: "buyer-mail", listing: listing)
            let envelope = try await service.database.client.query(
                "SELECT envelope FROM outbox WHERE event_type = 'order.placed'", logger: TestEnvironment.logger
            ).decode(Data.self).all().first.orThrow("order.placed")
            let event = try EventEnvelope.decode(from: envelope).decodePayload(as: OrderEvent.self)
            // The harness's tokens carry `<user>@example.test`.
            #expect(event.order.sellerEmail == "seller-mail@example.test")
            #expect(event.order.buyerEmail == "buyer-mail@example.test")
        }
    }
}
