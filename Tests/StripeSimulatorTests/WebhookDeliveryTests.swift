import EventContracts
import Foundation
import StripeClient
import TestSupport
import Testing

/// Webhooks are delivered as Stripe delivers them: several at once, and one whose endpoint is
/// slow to answer holds up none of the events behind it.
@Suite struct WebhookDeliveryTests {
    @Test func aSlowAnswerHoldsUpNoLaterEvent() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests", holdFirst: .seconds(6))
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(
            environment: ["SIM_WEBHOOK_URL": receiver.url, "SIM_WEBHOOK_EVENTS": "payment_intent.succeeded"])
        defer { sim.stop() }

        let (first, _) = try await sim.paidCharge(amount: 1_000, group: "checkout-d1")
        #expect(try await SimulatorHarness.eventually { receiver.arrivals.count == 1 })
        // The first answer is held; an event made now goes out meanwhile.
        let (second, _) = try await sim.paidCharge(amount: 2_000, group: "checkout-d2")
        let delivered = try await receiver.event("payment_intent.succeeded", within: .seconds(4)) {
            $0.event.data.object["id"]?.string == second.id
        }
        #expect(delivered != nil, "the second event waited for the first one's answer")
        #expect(!receiver.deliveries.contains { $0.event.data.object["id"]?.string == first.id })
        #expect(try await receiver.event("payment_intent.succeeded", within: .seconds(10)) {
            $0.event.data.object["id"]?.string == first.id
        } != nil)
    }
}
