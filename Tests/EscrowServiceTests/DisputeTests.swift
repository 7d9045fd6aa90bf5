import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService

@Suite struct DisputeTests {
    struct Open: Encodable {
        var orderId: UUID
        var reason: String
        var description: String
    }

    struct Resolve: Encodable {
        var outcome: String
        var refundAmount: Int64?
        var note: String?
    }

    struct Message: Encodable {
        var body: String
    }

    @Test func aDisputeBlocksReleaseAndASplitAddsUpToTheCent() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-x")
            let order = UUID()
            try await driver.pay([(order, "seller-x", 10_001)], buyer: "buyer-x")

            let open = Open(orderId: order, reason: "not_as_described", description: "The lamp is blue, the listing said red.")
            #expect(try await service.call(.post, "/api/v1/disputes", as: "buyer-other", roles: ["buyer"], body: open).status == .notFound)
            #expect(try await service.call(.post, "/api/v1/disputes", as: "buyer-x", roles: ["buyer"],
                                           body: Open(orderId: order, reason: "because", description: "x")).status == .unprocessableContent)
            let opened = try await service.call(.post, "/api/v1/disputes", as: "buyer-x", roles: ["buyer"], body: open)
            #expect(opened.status == .created)
            let dispute = try #require(try opened.json()["id"] as? String).lowercased()
            #expect(try await service.call(.post, "/api/v1/disputes", as: "buyer-x", roles: ["buyer"], body: open).status == .conflict)
            #expect(try await service.outboxCount("dispute.opened") == 1)

            // Delivered while disputed: the release waits.
            try await driver.order("order.delivered", order, seller: "seller-x", buyer: "buyer-x")
            #expect(try await driver.waitFor(order, status: "parked"))
            #expect(try await service.outboxCount("escrow.released") == 0)

            // Evidence from both parties; strangers see nothing.
            #expect(try await service.call(.post, "/api/v1/disputes/\(dispute)/messages", as: "seller-x", roles: ["seller"],
                                           body: Message(body: "Photo attached: it is red.")).status == .created)
            #expect(try await service.call(.post, "/api/v1/disputes/\(dispute)/messages", as: "buyer-x", roles: ["buyer"],
                                           body: Message(body: "Not in daylight.")).status == .created)
            #expect(try await service.call(.post, "/api/v1/disputes/\(dispute)/messages", as: "seller-y", roles: ["seller"],
                                           body: Message(body: "me too")).status == .notFound)
            let shown = try await service.call(.get, "/api/v1/disputes/\(dispute)", as: "seller-x", roles: ["seller"]).json()
            #expect((shown["messages"] as? [[String: Any]])?.map { $0["authorRole"] as? String } == ["seller", "buyer"])
            let queue = try await service.call(.get, "/api/v1/admin/disputes?status=open", as: "admin-1", roles: ["admin"]).json()
            #expect((queue["items"] as? [[String: Any]])?.count == 1)
            #expect(try await service.call(.get, "/api/v1/admin/disputes", as: "buyer-x", roles: ["buyer"]).status == .forbidden)

            // The admin splits: 33.33 back to the buyer, the rest to the seller less its share of the fee.
            #expect(try await service.call(.post, "/api/v1/admin/disputes/\(dispute)/resolve", as: "admin-1", roles: ["admin"],
                                           body: Resolve(outcome: "split", refundAmount: nil)).status == .unprocessableContent)
            #expect(try await service.call(.post, "/api/v1/admin/disputes/\(dispute)/resolve", as: "admin-1", roles: ["admin"],
                                           body: Resolve(outcome: "split", refundAmount: 10_001)).status == .unprocessableContent)
            let resolved = try await service.call(.post, "/api/v1/admin/disputes/\(dispute)/resolve", as: "admin-1", roles: ["admin"],
                                                  body: Resolve(outcome: "split", refundAmount: 3333, note: "Colour is ambiguous."))
            #expect(resolved.status == .ok, "\(resolved.text)")
            #expect(try await service.call(.post, "/api/v1/admin/disputes/\(dispute)/resolve", as: "admin-1", roles: ["admin"],
                                           body: Resolve(outcome: "release")).status == .conflict)

            let fee = 500 * 6668 / 10_001 + 0  // 333.37 → 333 by largest remainder (the refund's share has the larger remainder)
            #expect(try await service.eventually { try await driver.transfers().filter { $0.amount == 6668 - fee }.count == 1 })
            #expect(try await service.outboxCount("refund.requested") == 1)
            #expect(try await service.outboxCount("dispute.resolved") == 1)
            let requested = try await service.database.count(
                "SELECT (convert_from(envelope, 'UTF8')::jsonb #>> '{payload,amount}')::int FROM outbox WHERE event_type = 'refund.requested'")
            #expect(requested == 3333)

            // PaymentService refunds; every part adds up to what was paid, to the cent.
            try await service.publish(
                RefundSucceeded(refundId: UUID(), paymentId: UUID(), orderId: order, amount: 3333, currency: "usd", orderFullyRefunded: false),
                topic: Topic.payments, aggregateId: order.uuidString)
            #expect(try await service.eventually { try await driver.balance("buyer_refunds") == 3333 })
            let refunds = try await driver.balance("buyer_refunds")
            let fees = try await driver.balance("platform_fees")
            let seller = try await driver.balance("seller_available:seller-x")
            #expect(fees == fee)
            #expect(refunds + fees + seller == 10_001)
            #expect(try await service.database.count("SELECT COALESCE(sum(amount), 0)::int FROM journal_entries WHERE account LIKE 'escrow_held:%'") == 0)
            try await driver.expectBalanced()
        }
    }

    @Test func aFullRefundResolutionAndACancellationBeforeShipmentTransferNothing() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-z")
            let disputed = UUID()
            let cancelled = UUID()
            try await driver.pay([(disputed, "seller-z", 2500), (cancelled, "seller-z", 1500)], buyer: "buyer-z")

            let opened = try await service.call(.post, "/api/v1/disputes", as: "buyer-z", roles: ["buyer"],
                                                body: Open(orderId: disputed, reason: "not_received", description: "Nothing came."))
            let dispute = try #require(try opened.json()["id"] as? String)
            let resolved = try await service.call(.post, "/api/v1/admin/disputes/\(dispute)/resolve", as: "admin-1", roles: ["admin"],
                                                  body: Resolve(outcome: "refund"))
            #expect(resolved.status == .ok)
            #expect(try await driver.status(disputed) == "refunding")

            // Resolved, the escrow no longer names the dispute; both parties still find it.
            for (party, role) in [("buyer-z", "buyer"), ("seller-z", "seller")] {
                let mine = try await service.call(.get, "/api/v1/disputes?status=resolved", as: party, roles: [role])
                #expect(mine.status == .ok)
                let items = try #require(try mine.json()["items"] as? [[String: Any]])
                #expect(items.map { $0["id"] as? String } == [dispute] && items.first?["outcome"] as? String == "refund", "\(party)")
                let byOrder = try await service.call(.get, "/api/v1/disputes?orderId=\(disputed)", as: party, roles: [role]).json()
                #expect((byOrder["items"] as? [Any])?.count == 1)
            }
            let open = try await service.call(.get, "/api/v1/disputes?status=open", as: "buyer-z", roles: ["buyer"]).json()
            #expect((open["items"] as? [Any])?.isEmpty == true)
            let stranger = try await service.call(.get, "/api/v1/disputes", as: "buyer-other", roles: ["buyer"]).json()
            #expect((stranger["items"] as? [Any])?.isEmpty == true)
            #expect(try await service.call(.get, "/api/v1/disputes?orderId=nope", as: "buyer-z", roles: ["buyer"]).status == .badRequest)

            // Cancelled after payment, before shipment: a full refund is requested.
            try await driver.order("order.cancelled", cancelled, seller: "seller-z", buyer: "buyer-z", refundRequired: true)
            #expect(try await driver.waitFor(cancelled, status: "refunding"))
            #expect(try await service.database.count("SELECT sum((convert_from(envelope, 'UTF8')::jsonb #>> '{payload,amount}')::int)::int FROM outbox WHERE event_type = 'refund.requested'") == 4000)

            for (order, amount) in [(disputed, Int64(2500)), (cancelled, Int64(1500))] {
                try await service.publish(
                    RefundSucceeded(refundId: UUID(), paymentId: UUID(), orderId: order, amount: amount, currency: "usd", orderFullyRefunded: true),
                    topic: Topic.payments, aggregateId: order.uuidString)
            }
            #expect(try await driver.waitFor(disputed, status: "refunded"))
            #expect(try await driver.waitFor(cancelled, status: "refunded"))
            // A late delivery releases nothing.
            try await driver.order("order.delivered", disputed, seller: "seller-z", buyer: "buyer-z")
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM inbox WHERE event_type = 'order.delivered'") == 1 })
            #expect(try await driver.gateway("transfers", "count") == 0)
            #expect(try await driver.balance("buyer_refunds") == 4000)
            #expect(try await driver.balance("platform_fees") == 0)
            try await driver.expectBalanced()
        }
    }
}

@Suite struct CorrelationTests {
    /// The request's `X-Request-ID` is the correlation id of every event it causes, and an event's
    /// correlation id is carried into the events its handling causes.
    @Test func theCorrelationIdFlowsFromTheRequestThroughEveryEventItCauses() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-k")
            let (disputed, cancelled) = (UUID(), UUID())
            try await driver.pay([(disputed, "seller-k", 1200), (cancelled, "seller-k", 800)], buyer: "buyer-k")

            let body = try EventCoding.encoder.encode(DisputeTests.Open(orderId: disputed, reason: "damaged", description: "Cracked."))
            let reply = try await service.post(
                "/api/v1/disputes", bytes: Array(body),
                headers: [
                    .authorization: "Bearer \(try await service.token("buyer-k", ["buyer"]))", .contentType: "application/json",
                    .requestId: "req-journey-42",
                ])
            #expect(reply.status == .created)
            #expect(reply.headers[.requestId] == "req-journey-42")
            #expect(try await service.database.count(
                "SELECT count(*) FROM outbox WHERE event_type = 'dispute.opened' AND correlation_id = 'req-journey-42'") == 1)

            // An order event's correlation id (the driver sends "test") is carried into the refund it causes.
            try await driver.order("order.cancelled", cancelled, seller: "seller-k", buyer: "buyer-k", refundRequired: true)
            #expect(try await service.eventually { try await service.outboxCount("refund.requested") == 1 })
            #expect(try await service.database.count(
                "SELECT count(*) FROM outbox WHERE event_type = 'refund.requested' AND correlation_id = 'test'") == 1)
            #expect(try await service.database.count(
                "SELECT count(*) FROM outbox WHERE correlation_id NOT IN ('req-journey-42', 'test') AND event_type NOT LIKE 'seller.%'") == 0)
        }
    }
}
