import EventContracts
import Foundation
import HTTPTypes
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

@Suite struct ParkedWebhookTests {
    /// A signed event that does not decode (no `livemode`) used to be retried back-to-back for
    /// ever; now it is parked after a few failures with backoff, shown to admins, and replayable.
    @Test func anEventThatKeepsFailingIsParkedListedAndReplayable() async throws {
        try await ServiceHarness.payments { service in
            let id = "evt_broken_\(UUID().uuidString.prefix(8))"
            let broken: JSONValue = [
                "id": .string(id), "object": "event", "type": "payment_intent.succeeded",
                "created": .integer(Int64(Date().timeIntervalSince1970)),
                "data": ["object": ["id": "pi_broken", "object": "payment_intent", "amount": 100, "currency": "usd", "status": "succeeded"]],
            ]
            let reply = try await WebhookTests().deliver(Array(try JSONEncoder().encode(broken)), service)
            #expect(reply.status == .ok)
            // 5 failures 1 + 2 + 4 + 8 s apart: parked, not retried in a loop.
            #expect(try await service.eventually(timeout: .seconds(40)) {
                try await service.database.count("SELECT count(*) FROM stripe_events WHERE id = \(id) AND failed_at IS NOT NULL") == 1
            })
            #expect(try await service.database.count("SELECT failures FROM stripe_events WHERE id = \(id)") == WebhookProcessor.maximumFailures)
            try await Task.sleep(for: .seconds(2))
            #expect(try await service.database.count("SELECT attempts FROM stripe_events WHERE id = \(id)") == WebhookProcessor.maximumFailures)
            // Operators see it in /metrics (alerts StripeWebhookEventsParked, StripeWebhookFailures).
            #expect(try await service.eventuallyMetrics(show: "stripe_webhook_events_parked 1"))
            let metrics = try await service.metrics()
            #expect(metrics.contains(#"stripe_webhook_failures_total{result="parked"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"stripe_webhook_failures_total{result="retrying"} \#(WebhookProcessor.maximumFailures - 1)"#), "\(metrics)")
            #expect(metrics.contains("stripe_webhook_events_pending 0\n"))

            let listed = try await service.call(.get, "/api/v1/admin/stripe-events?state=failed", as: "admin-1", roles: ["admin"])
            #expect(listed.status == .ok)
            let items = try (listed.json()["items"] as? [[String: Any]]).orThrow("items")
            #expect(items.map { $0["id"] as? String } == [id])
            #expect((items.first?["lastError"] as? String)?.contains("livemode") == true)
            #expect(try await service.call(.get, "/api/v1/admin/stripe-events?state=failed", as: "buyer-1", roles: ["buyer"]).status == .forbidden)
            #expect(try await service.call(.get, "/api/v1/admin/stripe-events?state=nonsense", as: "admin-1", roles: ["admin"]).status == .badRequest)

            let detail = try await service.call(.get, "/api/v1/admin/stripe-events/\(id)", as: "admin-1", roles: ["admin"])
            #expect(((try detail.json()["payload"] as? [String: Any])?["id"] as? String) == id)
            #expect(try await service.call(.get, "/api/v1/admin/stripe-events/evt_none", as: "admin-1", roles: ["admin"]).status == .notFound)

            let replayed = try await service.call(.post, "/api/v1/admin/stripe-events/\(id)/replay", as: "admin-1", roles: ["admin"])
            #expect(replayed.status == .ok)
            #expect(try replayed.json()["state"] as? String == "pending")
            // Back in line: it is tried again (and, still broken, fails again).
            #expect(try await service.eventually { try await service.database.count("SELECT attempts FROM stripe_events WHERE id = \(id)") > WebhookProcessor.maximumFailures })
            #expect(try await service.call(.post, "/api/v1/admin/stripe-events/evt_none/replay", as: "admin-1", roles: ["admin"]).status == .notFound)
        }
    }
}
