import EventContracts
import Foundation
import Testing
import TestSupport

@testable import PaymentService

/// Wallet top-ups: a PaymentIntent like a checkout's, paid with a card; its success publishes
/// `wallet.topped_up` once, a decline leaves the top-up for another card.
@Suite struct TopUpTests {
    func topUp(_ service: ServiceHarness, buyer: String, amount: Int64, key: String) async throws -> HTTPReply {
        try await service.call(
            .post, "/api/v1/wallet/top-ups", as: buyer, roles: ["buyer"], body: ["amount": JSONValue.integer(amount), "currency": "USD"], idempotencyKey: key)
    }

    @Test func aTopUpIsChargedOnceAndPublishedOnceAfterADecline() async throws {
        try await ServiceHarness.payments { service in
            let created = try await topUp(service, buyer: "buyer-tu", amount: 2500, key: "tu-1")
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(try created.json()["id"] as? String)
            #expect((try created.json()["clientSecret"] as? String)?.contains("_secret_") == true)
            // The same key is the same top-up; another amount under it is refused.
            #expect(try await topUp(service, buyer: "buyer-tu", amount: 2500, key: "tu-1").json()["id"] as? String == id)
            #expect(try await topUp(service, buyer: "buyer-tu", amount: 900, key: "tu-1").status == .unprocessableContent)
            #expect(try await topUp(service, buyer: "buyer-tu", amount: 10, key: "tu-2").status == .unprocessableContent)

            let confirm = "/api/v1/wallet/top-ups/\(id)/confirm"
            #expect(try await service.call(.post, confirm, as: "buyer-other", roles: ["buyer"], body: ["paymentMethod": "pm_card_visa"]).status == .notFound)
            let declined = try await service.call(.post, confirm, as: "buyer-tu", roles: ["buyer"], body: ["paymentMethod": "pm_card_chargeDeclined"])
            #expect(declined.status.code == 402)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM top_ups WHERE status = 'failed'") == 1 })
            #expect(try await service.outboxCount("wallet.topped_up") == 0)
            let paid = try await service.call(.post, confirm, as: "buyer-tu", roles: ["buyer"], body: ["paymentMethod": "pm_card_visa"])
            #expect(paid.status == .ok, "\(paid.text)")
            #expect(try await service.eventually { try await service.outboxCount("wallet.topped_up") == 1 })
            let envelope = try await service.database.client.query(
                "SELECT envelope FROM outbox WHERE event_type = 'wallet.topped_up'", logger: TestEnvironment.logger
            ).decode(Data.self).all()[0]
            let event = try EventEnvelope.decode(from: envelope).decodePayload(as: WalletToppedUp.self)
            #expect(event.buyerId == "buyer-tu" && event.amount == 2500 && event.currency == "usd" && event.chargeId?.hasPrefix("ch_") == true)
            #expect(try await service.call(.post, confirm, as: "buyer-tu", roles: ["buyer"], body: ["paymentMethod": "pm_card_visa"]).status == .conflict)
            let list = try await service.call(.get, "/api/v1/wallet/top-ups", as: "buyer-tu", roles: ["buyer"]).json()
            #expect((list["items"] as? [[String: Any]])?.map { $0["status"] as? String } == ["succeeded"])
            // A top-up is no checkout payment: nothing else was published.
            #expect(try await service.outboxCount("payment.succeeded") == 0)
        }
    }
}
