import EventContracts
import Foundation
import StripeClient
import TestSupport
import Testing

/// A webhook endpoint gets the event types it is enabled for (a Stripe endpoint's
/// `enabled_events`), set at start (`SIM_WEBHOOK_EVENTS`) or at run time (`PUT /_sim/config`);
/// the others are still listed in `/v1/events`.
@Suite struct EnabledEventsTests {
    @Test func onlyTheEnabledTypesAreSentAndTheListCanChange() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(
            environment: ["SIM_WEBHOOK_URL": receiver.url, "SIM_WEBHOOK_EVENTS": " payment_intent.succeeded,charge.refunded "])
        defer { sim.stop() }
        let config = try await sim.control(.GET, "/_sim/config")
        #expect(config["enabledEvents"] == ["charge.refunded", "payment_intent.succeeded"])

        let (first, _) = try await sim.paidCharge(amount: 1_000, group: "checkout-e1")
        #expect(try await receiver.event("payment_intent.succeeded") { $0.event.data.object["id"]?.string == first.id } != nil)
        #expect(try await SimulatorHarness.eventually { try await sim.state("webhooks", "pending")?.integer == 0 })
        #expect(receiver.deliveries.map(\.event.type) == ["payment_intent.succeeded"])
        // Every event is still recorded; those not sent have nothing pending.
        let listed = try #require(try await sim.stripeGET("/v1/events?limit=100")["data"]?.array)
        let pending = Dictionary(uniqueKeysWithValues: listed.compactMap { event in
            event["type"]?.string.map { ($0, event["pending_webhooks"]?.integer) }
        })
        #expect(pending["payment_intent.created"] == 0 && pending["charge.succeeded"] == 0 && pending["payment_intent.succeeded"] == 1)

        try await sim.control(.PUT, "/_sim/config", ["enabledEvents": ["*"]])
        #expect(try await sim.control(.GET, "/_sim/config")["enabledEvents"] == ["*"])
        let (second, _) = try await sim.paidCharge(amount: 2_000, group: "checkout-e2")
        #expect(try await receiver.event("payment_intent.created") { $0.event.data.object["id"]?.string == second.id } != nil)
        #expect(try await receiver.event("charge.succeeded") != nil)
    }

    @Test func aListThatIsNotOneIsRefused() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        for bad: JSONValue in [[], ["*", "charge.refunded"], ["payment_intent.*"], ["Charge.Refunded"], ["refunded"], ["charge..refunded"]] {
            let (status, body) = try await sim.raw(
                .PUT, "/_sim/config", body: String(decoding: try JSONEncoder().encode(["enabledEvents": bad] as JSONValue), as: UTF8.self))
            #expect(status == 400, "\(bad)")
            #expect(body["error"]?["param"]?.string == "enabledEvents", "\(bad)")
        }
        #expect(try await sim.control(.GET, "/_sim/config")["enabledEvents"] == ["*"])

        let refused = await #expect(throws: SimulatorHarnessError.self) {
            _ = try await SimulatorHarness(environment: ["SIM_WEBHOOK_EVENTS": "payment_intent.succeeded,*"])
        }
        #expect(refused?.description.contains("SIM_WEBHOOK_EVENTS") == true)
    }
}
