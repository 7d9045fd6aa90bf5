import EventContracts
import Foundation
import Testing
import TestSupport

@testable import PaymentService

@Suite struct PaymentGaugeTests {
    /// The `payments` gauge follows payments through their statuses from the counts the table
    /// keeps, and those counts fold the rows of ended sessions without losing any.
    @Test func thePaymentsGaugeCountsEachPaymentOnceByStatus() async throws {
        try await ServiceHarness.payments { service in
            let (paid, _) = try await service.announceCheckout(buyer: "buyer-gauge")
            let (declined, _) = try await service.announceCheckout(buyer: "buyer-gauge")
            _ = try await service.announceCheckout(buyer: "buyer-gauge")
            #expect(try await service.eventuallyMetrics(show: #"payments{status="requires_payment"} 3"#))

            for (checkout, card) in [(paid, "pm_card_visa"), (declined, "pm_card_chargeDeclinedInsufficientFunds")] {
                let intent = try await service.call(
                    .post, "/api/v1/payments/create-intent", as: "buyer-gauge", roles: ["buyer"],
                    body: ["checkoutId": JSONValue.string(checkout.uuidString)])
                let paymentId = try (intent.json()["paymentId"] as? String).orThrow("paymentId")
                _ = try await service.call(
                    .post, "/api/v1/payments/confirm", as: "buyer-gauge", roles: ["buyer"],
                    body: ["paymentId": JSONValue.string(paymentId), "paymentMethod": JSONValue.string(card)])
            }
            #expect(try await service.eventually { try await service.paymentStatus(checkout: paid) == "succeeded" })
            #expect(try await service.eventually { try await service.paymentStatus(checkout: declined) == "failed" })
            let expected = [
                #"payments{status="requires_payment"} 1"#, #"payments{status="succeeded"} 1"#, #"payments{status="failed"} 1"#,
                #"payments{status="processing"} 0"#, #"payments{status="refunded"} 0"#,
            ]
            #expect(try await service.eventually {
                let lines = try await service.metrics().split(separator: "\n")
                return expected.allSatisfy { line in lines.contains { $0 == line } }
            })
            #expect(try await service.database.keptCountsDiffering("payment_status_counts", from: "payments") == 0)

            // Rows of a session that has ended (no backend has pid 2000000000) are folded into
            // slot 0 at the next scrape, and every payment is still counted once.
            try await service.database.client.query(
                """
                WITH moved AS (DELETE FROM payment_status_counts WHERE slot <> 0 RETURNING status, count)
                INSERT INTO payment_status_counts (status, slot, count) SELECT status, 2000000000, sum(count) FROM moved GROUP BY status
                """, logger: TestEnvironment.logger)
            #expect(try await service.database.count("SELECT count(*) FROM payment_status_counts WHERE slot = 2000000000") > 0)
            #expect(try await service.eventually {
                _ = try await service.metrics()
                return try await service.database.count("SELECT count(*) FROM payment_status_counts WHERE slot = 2000000000") == 0
            })
            #expect(try await service.database.keptCountsDiffering("payment_status_counts", from: "payments") == 0)
            let lines = try await service.metrics().split(separator: "\n")
            #expect(expected.allSatisfy { line in lines.contains { $0 == line } }, "\(lines)")
        }
    }
}
