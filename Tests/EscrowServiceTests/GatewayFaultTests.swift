import EventContracts
import Foundation
import StripeClient
import Testing
import TestSupport

@testable import EscrowService

/// Money movements when Stripe's answer is lost: the gateway made the object, the service saw
/// a timeout. Each movement is a gateway command retried with the same key, so the gateway ends
/// with exactly one object, the escrow with the right state, and nothing conflicting is allowed
/// while the outcome is unknown.
@Suite struct GatewayFaultTests {
    /// A short client timeout, shorter than the simulator's hang, so the answer is lost quickly.
    static let environment = ["STRIPE_TIMEOUT_MS": "800", "STRIPE_MAX_ATTEMPTS": "1"]
    /// How late a lost answer comes: far past the 800 ms timeout. With 1.5 s, a loaded CI machine
    /// once let the answer through: an event loop that stalls past both the deadline and the
    /// answer reads the answer before it runs the expired deadline, and the first attempt succeeds.
    static let lostAnswerHangMs: JSONValue = 6000

    struct OpenDispute: Encodable {
        var orderId: UUID
        var reason = "not_received"
        var description = "Nothing arrived."
    }

    struct Resolve: Encodable {
        var outcome: String
        var refundAmount: Int64?
    }

    /// The next `count` requests to `path` are carried out, but their answer comes too late.
    func loseAnswers(_ driver: EscrowDriver, path: String, count: Int = 1) async throws {
        try await driver.stripe.control(
            .PUT, "/_sim/faults",
            ["rules": [["kind": "lost_answer", "method": "POST", "path": .string(path), "count": .integer(Int64(count)), "hangMs": Self.lostAnswerHangMs]]])
    }

    func commandAttempts(_ service: ServiceHarness, kind: String) async throws -> Int {
        try await service.database.count("SELECT COALESCE(max(attempts), 0)::int FROM gateway_commands WHERE kind = \(kind)")
    }

    @Test func aLostTransferAnswerPaysOnceAndNoDisputeIsOpenedMeanwhile() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics, environment: Self.environment) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-l")
            let order = UUID()
            try await driver.pay([(order, "seller-l", 5000)], buyer: "buyer-l")
            try await loseAnswers(driver, path: "/v1/transfers")
            try await driver.order("order.delivered", order, seller: "seller-l", buyer: "buyer-l")
            #expect(try await driver.waitFor(order, status: "releasing"))
            // HTTP is up while the transfer's outcome is unknown: the buyer cannot dispute it now.
            let dispute = try await service.call(.post, "/api/v1/disputes", as: "buyer-l", roles: ["buyer"], body: OpenDispute(orderId: order))
            #expect(dispute.status == .conflict, "\(dispute.text)")

            #expect(try await driver.waitFor(order, status: "released"))
            #expect(try await driver.gateway("transfers", "count") == 1)
            let transfer = try #require(try await driver.transfers().first)
            #expect(transfer.amount == 4750)
            #expect(try await service.database.count("SELECT count(*)::int FROM escrows WHERE transfer_id = \(transfer.id)") == 1)
            #expect(try await commandAttempts(service, kind: "release_transfer") >= 2)
            #expect(try await service.outboxCount("escrow.released") == 1)
            #expect(try await service.outboxCount("dispute.opened") == 0)
            #expect(try await driver.balance("seller_available:seller-l") == 4750)
            try await driver.expectBalanced()
        }
    }

    /// A split resolution whose transfer answer is lost pays exactly the seller's part, once.
    @Test func aSplitAfterALostReleaseAnswerPaysExactlyTheSplitOnce() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics, environment: Self.environment) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-s")
            let order = UUID()
            try await driver.pay([(order, "seller-s", 10_000)], buyer: "buyer-s")
            let opened = try await service.call(.post, "/api/v1/disputes", as: "buyer-s", roles: ["buyer"], body: OpenDispute(orderId: order))
            #expect(opened.status == .created || opened.status == .ok, "\(opened.text)")
            let dispute = try #require(try opened.json()["id"] as? String)
            try await loseAnswers(driver, path: "/v1/transfers")
            let resolved = try await service.call(
                .post, "/api/v1/admin/disputes/\(dispute)/resolve", as: "admin-1", roles: ["admin"], body: Resolve(outcome: "split", refundAmount: 4000))
            #expect(resolved.status == .ok, "\(resolved.text)")
            #expect(try await driver.waitFor(order, status: "released"))
            // 6000 released, carrying 300 of the 500 fee: 5700 to the seller, in one transfer.
            let transfers = try await driver.transfers()
            #expect(transfers.map(\.amount) == [5700])
            #expect(try await commandAttempts(service, kind: "release_transfer") >= 2)
            #expect(try await service.outboxCount("refund.requested") == 1)
            try await driver.expectBalanced()
        }
    }

    /// A reversal (refund after release) whose answer is lost reverses once.
    @Test func aLostReversalAnswerReversesOnce() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics, environment: Self.environment) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-v")
            let order = UUID()
            try await driver.pay([(order, "seller-v", 5000)], buyer: "buyer-v")
            try await driver.order("order.delivered", order, seller: "seller-v", buyer: "buyer-v")
            #expect(try await driver.waitFor(order, status: "released"))
            let transfer = try #require(try await driver.transfers().first)
            try await loseAnswers(driver, path: "/v1/transfers/\(transfer.id)/reversals")
            let refund = try await service.call(
                .post, "/api/v1/admin/escrows/\(order.uuidString)/refund", as: "admin-1", roles: ["admin"],
                body: RefundBody(amount: 2000, reason: "damaged"), idempotencyKey: "lost-reversal")
            #expect(refund.status == .accepted, "\(refund.text)")
            // Taken from the seller's balance when decided, whatever the gateway says later.
            #expect(try await driver.balance("seller_available:seller-v") == 2750)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*)::int FROM gateway_commands WHERE kind = 'transfer_reversal' AND status = 'succeeded'") == 1
            })
            #expect(try await driver.gateway("reversals", "count") == 1)
            #expect(try await driver.gateway("reversals", "amount") == 2000)
            #expect(try await commandAttempts(service, kind: "transfer_reversal") >= 2)
            try await driver.expectBalanced()
        }
    }

    /// A payout whose answer is lost stays out of `available` (and is not failed) until the
    /// gateway's outcome is known; then it is the one payout there.
    @Test func anAmbiguousPayoutAnswerKeepsTheMoneyOutOfAvailableUntilItIsKnown() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics, environment: Self.environment) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-p")
            let order = UUID()
            try await driver.pay([(order, "seller-p", 5000)], buyer: "buyer-p")
            try await driver.order("order.delivered", order, seller: "seller-p", buyer: "buyer-p")
            #expect(try await driver.waitFor(order, status: "released"))
            try await loseAnswers(driver, path: "/v1/payouts", count: 2)
            let payout = try await service.call(
                .post, "/api/v1/payouts", as: "seller-p", roles: ["seller"], body: PayoutBody(amount: 3000, currency: "usd"),
                idempotencyKey: "ambiguous")
            #expect(payout.status == .accepted, "\(payout.text)")
            #expect(try payout.json()["status"] as? String == "pending")
            // Unknown: neither failed nor back in available.
            #expect(try await driver.balance("seller_available:seller-p") == 1750)
            #expect(try await driver.balance("seller_in_transit:seller-p") == 3000)
            #expect(try await service.database.count("SELECT count(*)::int FROM payouts WHERE status = 'failed'") == 0)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*)::int FROM payouts WHERE status = 'in_transit' AND stripe_payout_id IS NOT NULL") == 1
            })
            #expect(try await driver.gateway("payouts", "count") == 1)
            #expect(try await commandAttempts(service, kind: "payout") >= 2)
            #expect(try await driver.balance("seller_available:seller-p") == 1750)
            try await driver.expectBalanced()
        }
    }

    /// The bank returns a payout after `payout.paid`: the money is available again, the seller
    /// is told, and reconciliation agrees with the gateway.
    @Test func aPayoutFailedAfterPaidBooksTheMoneyBack() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            let account = try await driver.onboard("seller-b")
            let order = UUID()
            try await driver.pay([(order, "seller-b", 5000)], buyer: "buyer-b")
            try await driver.order("order.delivered", order, seller: "seller-b", buyer: "buyer-b")
            #expect(try await driver.waitFor(order, status: "released"))
            let reply = try await service.call(
                .post, "/api/v1/payouts", as: "seller-b", roles: ["seller"], body: PayoutBody(amount: 4000, currency: "usd"), idempotencyKey: "b-1")
            #expect(reply.status == .accepted, "\(reply.text)")
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*)::int FROM payouts WHERE stripe_payout_id IS NOT NULL") == 1
            })
            let stripePayout = try #require(
                try await service.database.client.query("SELECT stripe_payout_id FROM payouts", logger: TestEnvironment.logger).decode(String.self).all().first)
            // PaymentService relays Stripe's reports (no PaymentService in this test: published as it would).
            #expect(try await SimulatorHarness.eventually(within: .seconds(10)) { try await driver.gateway("payouts", "byStatus", "paid", "count") == 1 })
            try await relayPayout(service, stripePayout, account: account, status: "paid")
            #expect(try await service.eventually { try await service.database.count("SELECT count(*)::int FROM payouts WHERE status = 'paid'") == 1 })
            #expect(try await driver.balance("seller_paid_out:seller-b") == 4000)

            try await driver.stripe.control(.POST, "/_sim/payouts/\(stripePayout)/fail", ["failureCode": "account_closed"])
            try await relayPayout(service, stripePayout, account: account, status: "failed", failure: "account_closed")
            #expect(try await service.eventually { try await service.database.count("SELECT count(*)::int FROM payouts WHERE status = 'failed'") == 1 })
            #expect(try await driver.balance("seller_paid_out:seller-b") == 0)
            #expect(try await driver.balance("seller_available:seller-b") == 4750)
            #expect(try await service.outboxCount("payout.failed") == 1)
            // A redelivered report books nothing twice.
            try await relayPayout(service, stripePayout, account: account, status: "failed", failure: "account_closed")
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await driver.balance("seller_available:seller-b") == 4750)
            try await driver.expectBalanced()
            let report = try await service.call(.post, "/api/v1/admin/reconciliation", as: "admin-1", roles: ["admin"]).json()
            #expect((report["discrepancies"] as? [Any])?.isEmpty == true, "\(report)")
        }
    }

    /// A refund that succeeded and then failed (`refund.failed` with `afterSuccess`): its journal
    /// is mirrored, the escrow holds the money again, back in the state it came from, flagged.
    @Test func aRefundThatFailsAfterSuccessIsHeldAgain() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            let order = UUID()
            let payment = try await driver.pay([(order, "seller-f", 3000)], buyer: "buyer-f")
            try await driver.order("order.cancelled", order, seller: "seller-f", buyer: "buyer-f", refundRequired: true)
            #expect(try await driver.waitFor(order, status: "refunding"))
            let refund = UUID()
            try await service.publish(
                RefundSucceeded(refundId: refund, paymentId: payment.paymentId, orderId: order, amount: 3000, currency: "usd", orderFullyRefunded: true),
                topic: Topic.payments, aggregateId: payment.paymentId.uuidString.lowercased())
            #expect(try await driver.waitFor(order, status: "refunded"))
            #expect(try await driver.balance("buyer_refunds") == 3000)

            let late = RefundFailed(refundId: refund, paymentId: payment.paymentId, orderId: order, amount: 3000, reason: "charge_for_pending_refund_disputed", afterSuccess: true)
            try await service.publish(late, topic: Topic.payments, aggregateId: payment.paymentId.uuidString.lowercased())
            try await service.publish(late, topic: Topic.payments, aggregateId: payment.paymentId.uuidString.lowercased())
            #expect(try await driver.waitFor(order, status: "held"))
            #expect(try await driver.balance("buyer_refunds") == 0)
            #expect(try await driver.balance("escrow_held:\(try #require(try await escrowId(service, order)))") == 3000)
            #expect(try await service.database.count("SELECT count(*)::int FROM escrows WHERE flagged_at IS NOT NULL AND refunded_amount = 0 AND refund_requested = 0") == 1)
            try await driver.expectBalanced()
        }
    }

    /// The refund part of a split fails after it succeeded: the escrow stays released, holds the
    /// refund part again (flagged), and reconciliation agrees (the chaos run found it reported as
    /// a discrepancy).
    @Test func aSplitWhoseRefundFailsLateHoldsTheRefundPartAndReconciles() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-q")
            let order = UUID()
            let payment = try await driver.pay([(order, "seller-q", 10_000)], buyer: "buyer-q")
            let opened = try await service.call(.post, "/api/v1/disputes", as: "buyer-q", roles: ["buyer"], body: OpenDispute(orderId: order))
            let dispute = try #require(try opened.json()["id"] as? String)
            let resolved = try await service.call(
                .post, "/api/v1/admin/disputes/\(dispute)/resolve", as: "admin-1", roles: ["admin"], body: Resolve(outcome: "split", refundAmount: 4000))
            #expect(resolved.status == .ok, "\(resolved.text)")
            #expect(try await driver.waitFor(order, status: "released"))
            let refund = UUID()
            try await service.publish(
                RefundSucceeded(refundId: refund, paymentId: payment.paymentId, orderId: order, amount: 4000, currency: "usd", orderFullyRefunded: false),
                topic: Topic.payments, aggregateId: payment.paymentId.uuidString.lowercased())
            #expect(try await service.eventually { try await driver.balance("buyer_refunds") == 4000 })
            try await service.publish(
                RefundFailed(refundId: refund, paymentId: payment.paymentId, orderId: order, amount: 4000, reason: "late", afterSuccess: true),
                topic: Topic.payments, aggregateId: payment.paymentId.uuidString.lowercased())
            #expect(try await service.eventually { try await driver.balance("buyer_refunds") == 0 })
            let escrow = try #require(try await escrowId(service, order))
            #expect(try await driver.balance("escrow_held:\(escrow)") == 4000)
            #expect(try await driver.status(order) == "released")
            #expect(try await service.database.count("SELECT count(*)::int FROM escrows WHERE flagged_at IS NOT NULL") == 1)
            try await driver.expectBalanced()
            let report = try await service.call(.post, "/api/v1/admin/reconciliation", as: "admin-1", roles: ["admin"]).json()
            #expect((report["discrepancies"] as? [Any])?.isEmpty == true, "\(report)")
        }
    }

    func escrowId(_ service: ServiceHarness, _ order: UUID) async throws -> String? {
        try await service.database.client.query("SELECT id::text FROM escrows WHERE order_id = \(order)", logger: TestEnvironment.logger)
            .decode(String.self).all().first
    }

    func relayPayout(_ service: ServiceHarness, _ payout: String, account: String, status: String, failure: String? = nil) async throws {
        try await service.publish(
            GatewayPayoutUpdated(payoutId: payout, accountId: account, status: status, amount: 4000, currency: "usd", failureCode: failure),
            topic: Topic.payments, aggregateId: account)
    }
}
