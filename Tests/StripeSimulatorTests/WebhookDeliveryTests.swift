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

    /// Several endpoint URLs (instances of the receiver) take the deliveries in turn.
    @Test func severalURLsShareTheDeliveries() async throws {
        let first = try await WebhookReceiver(secret: "whsec_simulator_tests")
        let second = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await first.stop(); await second.stop() } }
        let sim = try await SimulatorHarness(environment: [
            "SIM_WEBHOOK_URL": "\(first.url), \(second.url)",
            "SIM_WEBHOOK_EVENTS": "payment_intent.succeeded",
        ])
        defer { sim.stop() }

        for n in 1...4 { _ = try await sim.paidCharge(amount: 1_000 * Int64(n), group: "checkout-s\(n)") }
        #expect(try await SimulatorHarness.eventually { first.deliveries.count + second.deliveries.count == 4 })
        #expect(first.deliveries.count == 2)
        #expect(second.deliveries.count == 2)
        #expect((first.deliveries + second.deliveries).allSatisfy { $0.signatureValid })
    }

    /// A refused attempt is retried at the next URL: an instance that is down holds up no event
    /// for longer than one retry delay.
    @Test func anAttemptRefusedByOneURLIsRetriedAtTheNext() async throws {
        let down = try await WebhookReceiver(secret: "whsec_simulator_tests", refuseFirst: 1_000)
        let up = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await down.stop(); await up.stop() } }
        let sim = try await SimulatorHarness(environment: [
            "SIM_WEBHOOK_URL": "\(down.url),\(up.url)",
            "SIM_WEBHOOK_EVENTS": "payment_intent.succeeded", "SIM_WEBHOOK_RETRY_BASE_MS": "200",
        ])
        defer { sim.stop() }

        var ids: [String] = []
        for n in 1...4 { ids.append(try await sim.paidCharge(amount: 1_000 * Int64(n), group: "checkout-r\(n)").0.id) }
        // Retried at the same (refusing) URL, half of them would never arrive.
        #expect(try await SimulatorHarness.eventually(within: .seconds(3)) {
            Set(up.deliveries.compactMap { $0.event.data.object["id"]?.string }) == Set(ids)
        })
    }
}
