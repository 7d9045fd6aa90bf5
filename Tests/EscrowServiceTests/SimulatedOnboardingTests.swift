import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService
@testable import PaymentService

/// The seller journey without Stripe: the onboarding link opens the local page, its button
/// sends the signed `account.updated` webhook to PaymentService, which relays it to
/// EscrowService; a payout then settles through the gateway's `payout.paid` webhook.
@Suite struct SimulatedOnboardingTests {
    @Test func theOnboardingPageCompletesOnboardingAndPayoutsSettleByWebhook() async throws {
        let prefix = TestEnvironment.uniqueName("t") + "."
        try await ServiceHarness.run(.paymentService, topics: EscrowDriver.topics, topicPrefix: prefix) { payments in
            let port = try #require(payments.port)
            let webhook = "http://127.0.0.1:\(port)/api/v1/stripe/webhook"
            try await ServiceHarness.run(
                .escrowService, topics: EscrowDriver.topics, topicPrefix: prefix, environment: ["STRIPE_WEBHOOK_URL": webhook]
            ) { escrow in
                let driver = EscrowDriver(service: escrow)
                let order = UUID()
                try await driver.pay([(order, "seller-s", 8000)])
                try await driver.order("order.delivered", order, seller: "seller-s")
                #expect(try await driver.waitFor(order, status: "parked"))

                let onboarding = try await escrow.call(.post, "/api/v1/sellers/stripe-onboard", as: "seller-s", roles: ["seller"]).json()
                let url = try #require(onboarding["onboardingUrl"] as? String)
                let link = try #require(URLComponents(string: url))
                let path = link.path + "?" + (link.percentEncodedQuery ?? "")

                // The page shows the button; a tampered link shows nothing.
                let page = try await escrow.post(path, bytes: [], headers: [:], method: .get)
                #expect(page.status == .ok && page.text.contains("Complete onboarding"))
                let forged = try await escrow.post(path.replacingOccurrences(of: "signature=", with: "signature=0"), bytes: [], headers: [:], method: .get)
                #expect(forged.status == .notFound)

                // The button: onboarding completes and the parked release happens.
                let done = try await escrow.post(
                    path, bytes: Array("outcome=complete".utf8), headers: [.contentType: "application/x-www-form-urlencoded"])
                #expect(done.status == .ok, "\(done.text)")
                #expect(try await driver.waitFor(order, status: "released"))
                #expect(try await payments.outboxCount("gateway.account_updated") == 1)
                let status = try await escrow.call(.get, "/api/v1/sellers/me/stripe-status", as: "seller-s", roles: ["seller"]).json()
                #expect(status["payoutsEnabled"] as? Bool == true && (status["currentlyDue"] as? [String]) == [])

                // A payout settles when the gateway's payout.paid webhook comes back through PaymentService.
                let payout = try await escrow.call(
                    .post, "/api/v1/payouts", as: "seller-s", roles: ["seller"], body: PayoutBody(amount: 7600, currency: "usd"),
                    idempotencyKey: "all-of-it")
                #expect(payout.status == .accepted, "\(payout.text)")
                #expect(try await escrow.eventually { try await escrow.database.count("SELECT count(*) FROM payouts WHERE status = 'paid'") == 1 })
                #expect(try await driver.balance("seller_paid_out:seller-s") == 7600)
                #expect(try await driver.balance("seller_available:seller-s") == 0)
                #expect(try await escrow.outboxCount("payout.paid") == 1)
                try await driver.expectBalanced()
            }
        }
    }
}
