import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService

@Suite struct ChargebackTests {
    func chargeback(_ type: String, _ payment: PaymentSucceeded, dispute: String, status: String, amount: Int64? = nil) throws -> EventEnvelope {
        let payload = ChargebackChanged(
            paymentId: payment.paymentId, chargeId: payment.chargeId ?? "", disputeId: dispute, amount: amount ?? payment.amount,
            currency: payment.currency, reason: "fraudulent", status: status,
            orders: payment.orders.map { .init(orderId: $0.orderId, sellerId: $0.sellerId, amount: $0.amount) })
        return EventEnvelope(
            type: type, aggregateType: ChargebackChanged.aggregateType, aggregateId: payment.paymentId.uuidString.lowercased(),
            correlationId: "test", producer: "payment-service", payload: try JSONValue(encoding: payload))
    }

    @Test func aChargebackAfterReleaseReversesWhatTheSellerStillHasAndBooksThePlatformsLoss() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-c")
            let order = UUID()
            let payment = try await driver.pay([(order, "seller-c", 5000)], buyer: "buyer-c")
            try await driver.order("order.delivered", order, seller: "seller-c", buyer: "buyer-c")
            #expect(try await driver.waitFor(order, status: "released"))
            #expect(try await driver.balance("seller_available:seller-c") == 4750)

            // The seller pays most of it out before the chargeback arrives.
            let payout = try await service.call(
                .post, "/api/v1/payouts", as: "seller-c", roles: ["seller"], body: PayoutBody(amount: 3000, currency: "usd"),
                idempotencyKey: "po-1")
            #expect(payout.status == .accepted, "\(payout.text)")
            #expect(try await driver.balance("seller_available:seller-c") == 1750)

            try await service.publish(envelope: try chargeback(ChargebackChanged.openedType, payment, dispute: "dp_1", status: "needs_response"), topic: Topic.payments)
            // The escrow's frozen state commits with the ledger (the gateway's record commits first).
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM escrows WHERE chargeback_id = 'dp_1'") == 1 })
            // Reversed as far as the seller's balance allows; the platform loses the rest.
            // The reversal itself is a gateway command, made right after that commit.
            #expect(try await service.eventually { try await driver.gateway("reversals", "amount") == 1750 })
            #expect(try await driver.gateway("transfers", "amountReversed") == 1750)
            #expect(try await driver.balance("seller_available:seller-c") == 0)
            #expect(try await driver.balance("chargeback_losses") == -3250)
            try await driver.expectBalanced()

            // No refund on a charge under chargeback.
            let refund = try await service.call(
                .post, "/api/v1/admin/escrows/\(order.uuidString)/refund", as: "admin-1", roles: ["admin"],
                body: RefundBody(amount: 100, reason: "goodwill"), idempotencyKey: "rf-1")
            #expect(refund.status == .conflict)
            #expect(try await service.outboxCount("refund.requested") == 0)

            // A redelivered chargeback reverses nothing twice; losing it changes nothing more.
            try await service.publish(envelope: try chargeback(ChargebackChanged.openedType, payment, dispute: "dp_1", status: "needs_response"), topic: Topic.payments)
            try await service.publish(envelope: try chargeback(ChargebackChanged.closedType, payment, dispute: "dp_1", status: "lost"), topic: Topic.payments)
            #expect(try await driver.waitFor(order, status: "charged_back"))
            #expect(try await driver.gateway("reversals", "count") == 1)
            // The card network gave the money back: an admin refund now would pay twice.
            #expect(try await service.call(
                .post, "/api/v1/admin/escrows/\(order.uuidString)/refund", as: "admin-1", roles: ["admin"],
                body: RefundBody(amount: 100, reason: "goodwill"), idempotencyKey: "rf-2"
            ).status == .conflict)
            #expect(try await driver.balance("chargeback_losses") == -3250)
            // Reconciliation: the gateway paid the payout but its report (no webhook receiver in
            // this test) never arrived, so the ledger still has it in transit; nothing else differs.
            #expect(try await service.eventually {
                try await driver.gateway("payouts", "byStatus", "paid", "count") == 1
            })
            let report = try await service.call(.post, "/api/v1/admin/reconciliation", as: "admin-1", roles: ["admin"]).json()
            let found = try #require(report["discrepancies"] as? [[String: Any]])
            #expect(found.count == 1 && found.first?["kind"] as? String == "payout" && found.first?["actual"] as? String == "status paid", "\(report)")
            #expect(try await service.eventuallyMetrics(show: "escrow_reconciliation_discrepancies 1"))
            let stripePayout = try #require(try await service.database.client.query(
                "SELECT stripe_payout_id FROM payouts", logger: TestEnvironment.logger).decode(String.self).all().first)
            try await service.publish(
                GatewayPayoutUpdated(payoutId: stripePayout, accountId: nil, status: "paid", amount: 3000, currency: "usd", failureCode: nil),
                topic: Topic.payments, aggregateId: stripePayout)
            #expect(try await service.eventually { try await driver.balance("seller_paid_out:seller-c") == 3000 })
            let again = try await service.call(.post, "/api/v1/admin/reconciliation", as: "admin-1", roles: ["admin"]).json()
            #expect((again["discrepancies"] as? [Any])?.count == 0, "\(again)")
            #expect(try await service.eventuallyMetrics(show: "escrow_reconciliation_discrepancies 0"))
            let latest = try await service.call(.get, "/api/v1/admin/reconciliation", as: "admin-1", roles: ["admin"]).json()
            #expect(latest["id"] as? String == again["id"] as? String)
            try await driver.expectBalanced()
        }
    }

    @Test func aChargebackWonAfterReleasePaysTheSellerBackWhatWasReversed() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-v")
            let order = UUID()
            let payment = try await driver.pay([(order, "seller-v", 2000)], buyer: "buyer-v")
            try await driver.order("order.delivered", order, seller: "seller-v", buyer: "buyer-v")
            #expect(try await driver.waitFor(order, status: "released"))
            try await service.publish(envelope: try chargeback(ChargebackChanged.openedType, payment, dispute: "dp_3", status: "needs_response"), topic: Topic.payments)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM escrows WHERE chargeback_id = 'dp_3'") == 1 })
            #expect(try await driver.balance("seller_available:seller-v") == 0)
            #expect(try await driver.balance("chargeback_losses") == -100)

            try await service.publish(envelope: try chargeback(ChargebackChanged.closedType, payment, dispute: "dp_3", status: "won"), topic: Topic.payments)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM escrows WHERE chargeback_return_transfer_id IS NOT NULL AND chargeback_id IS NULL") == 1
            })
            #expect(try await driver.balance("seller_available:seller-v") == 1900)
            #expect(try await driver.balance("chargeback_losses") == 0)
            #expect(try await service.eventually { try await driver.transfers().filter { $0.amount == 1900 }.count == 2 })
            #expect(try await driver.status(order) == "released")
            let report = try await service.call(.post, "/api/v1/admin/reconciliation", as: "admin-1", roles: ["admin"]).json()
            #expect((report["discrepancies"] as? [Any])?.count == 0, "\(report)")
            try await driver.expectBalanced()
        }
    }

    @Test func aChargebackFreezesHeldFundsUntilItIsWon() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-w")
            let (first, second) = (UUID(), UUID())
            let payment = try await driver.pay([(first, "seller-w", 3000), (second, "seller-w", 1000)], buyer: "buyer-w")
            try await service.publish(envelope: try chargeback(ChargebackChanged.openedType, payment, dispute: "dp_2", status: "needs_response"), topic: Topic.payments)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM escrows WHERE chargeback_id = 'dp_2'") == 2
            })
            // Frozen: delivery parks the release, the buyer cannot open a dispute on top.
            try await driver.order("order.delivered", first, seller: "seller-w", buyer: "buyer-w")
            #expect(try await driver.waitFor(first, status: "parked"))
            let dispute = try await service.call(
                .post, "/api/v1/disputes", as: "buyer-w", roles: ["buyer"],
                body: DisputeTests.Open(orderId: second, reason: "other", description: "x"))
            #expect(dispute.status == .conflict)

            // Won: the delivered order is released, the other stays held.
            try await service.publish(envelope: try chargeback(ChargebackChanged.closedType, payment, dispute: "dp_2", status: "won"), topic: Topic.payments)
            #expect(try await driver.waitFor(first, status: "released"))
            #expect(try await driver.status(second) == "held")
            #expect(try await driver.balance("chargeback_losses") == 0)
            try await driver.expectBalanced()
        }
    }
}

@Suite struct RefundAfterReleaseTests {
    @Test func anAdminRefundAfterReleaseReversesTheTransferThenRefunds() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-a")
            let order = UUID()
            try await driver.pay([(order, "seller-a", 5000)], buyer: "buyer-a")
            try await driver.order("order.delivered", order, seller: "seller-a", buyer: "buyer-a")
            #expect(try await driver.waitFor(order, status: "released"))

            let path = "/api/v1/admin/escrows/\(order.uuidString)/refund"
            #expect(try await service.call(.post, path, as: "seller-a", roles: ["seller"], body: RefundBody(amount: 2000, reason: "x"), idempotencyKey: "k").status == .forbidden)
            #expect(try await service.call(.post, path, as: "admin-1", roles: ["admin"], body: RefundBody(amount: 5001, reason: "too much"), idempotencyKey: "k0").status == .unprocessableContent)
            let refund = try await service.call(.post, path, as: "admin-1", roles: ["admin"], body: RefundBody(amount: 2000, reason: "damaged in transit"), idempotencyKey: "k1")
            #expect(refund.status == .accepted, "\(refund.text)")
            // A retry of the same request reverses nothing twice.
            #expect(try await service.call(.post, path, as: "admin-1", roles: ["admin"], body: RefundBody(amount: 2000, reason: "damaged in transit"), idempotencyKey: "k1").status == .accepted)
            // The reversal is a gateway command, made by the worker once the request committed.
            #expect(try await service.eventually { try await driver.gateway("reversals", "amount") == 2000 })
            #expect(try await service.database.count("SELECT count(*)::int FROM gateway_commands WHERE kind = 'transfer_reversal'") == 1)
            #expect(try await service.outboxCount("refund.requested") == 1)
            #expect(try await driver.balance("seller_available:seller-a") == 2750)

            try await service.publish(
                RefundSucceeded(refundId: UUID(), paymentId: UUID(), orderId: order, amount: 2000, currency: "usd", orderFullyRefunded: false),
                topic: Topic.payments, aggregateId: order.uuidString)
            #expect(try await service.eventually { try await driver.balance("buyer_refunds") == 2000 })
            #expect(try await driver.balance("refund_losses") == 0)
            #expect(try await service.database.count("SELECT COALESCE(sum(amount), 0)::int FROM journal_entries WHERE account LIKE 'escrow_held:%'") == 0)
            try await driver.expectBalanced()
        }
    }
}
