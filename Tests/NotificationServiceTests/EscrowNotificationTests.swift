import EventContracts
import Foundation
import Testing
import TestSupport

@testable import NotificationService

@Suite struct EscrowNotificationTests {
    @Test func disputesReachBuyerSellerAndAdmin() async throws {
        let admin = "ops-\(UUID().uuidString.prefix(8).lowercased())@escrowmarket.test"
        try await ServiceHarness.notifications(environment: ["NOTIFY_ADMIN_EMAIL": admin]) { service in
            let fixture = Fixture()
            let order = fixture.order()
            try await service.publishOrder("order.placed", order)
            let dispute = DisputeOpened(
                disputeId: UUID(), orderId: order.orderId, reason: "not_received", buyerId: fixture.buyer, sellerId: fixture.seller,
                description: "Nothing arrived <at all>", amount: order.totalAmount, currency: "usd")
            try await service.publish(dispute, topic: Topic.escrow, aggregateId: dispute.disputeId.uuidString)
            let sink = MailSink.shared
            #expect(try await service.eventually { try sink.messages(to: admin).contains { $0.kind == "admin_dispute_opened" } })
            #expect(try await service.eventually { try sink.messages(to: fixture.sellerEmail).contains { $0.kind == "dispute_opened_seller" } })
            #expect(try await service.eventually { try sink.messages(to: fixture.buyerEmail).contains { $0.kind == "dispute_opened_buyer" } })
            let adminMail = try sink.messages(to: admin).first { $0.kind == "admin_dispute_opened" }.orThrow("admin mail")
            #expect(try adminMail.part("text/html").orThrow("html").content.contains("Nothing arrived &lt;at all&gt;"))
            #expect(try adminMail.part("text/plain").orThrow("text").content.contains("(\("$1,234.56"))"))

            let resolved = DisputeResolved(
                outcome: "split", disputeId: dispute.disputeId, orderId: order.orderId, buyerId: fixture.buyer, sellerId: fixture.seller,
                refundAmount: 34_56, releaseAmount: 120_000, currency: "usd", note: nil)
            try await service.publish(resolved, topic: Topic.escrow, aggregateId: dispute.disputeId.uuidString)
            #expect(try await service.eventually { try sink.messages(to: fixture.sellerEmail).contains { $0.kind == "dispute_resolved_seller" } })
            let buyerMail = try await eventuallyMail(service, sink, fixture.buyerEmail, "dispute_resolved_buyer")
            #expect(try buyerMail.part("text/plain").orThrow("text").content.contains("Refunded to you: $34.56"))
        }
    }

    /// The dispute's event can overtake the order's (different topics): the mail still names the amount.
    @Test func aDisputeAheadOfItsOrderStillShowsTheAmount() async throws {
        let admin = "ops-\(UUID().uuidString.prefix(8).lowercased())@escrowmarket.test"
        try await ServiceHarness.notifications(environment: ["NOTIFY_ADMIN_EMAIL": admin]) { service in
            let fixture = Fixture()
            let dispute = DisputeOpened(
                disputeId: UUID(), orderId: UUID(), reason: "damaged", buyerId: fixture.buyer, sellerId: fixture.seller,
                description: nil, amount: 4_599, currency: "usd")
            try await service.publish(dispute, topic: Topic.escrow, aggregateId: dispute.disputeId.uuidString)
            let sink = MailSink.shared
            #expect(try await service.eventually { try sink.messages(to: admin).contains { $0.kind == "admin_dispute_opened" } })
            let mail = try sink.messages(to: admin).first { $0.kind == "admin_dispute_opened" }.orThrow("admin mail")
            #expect(try mail.part("text/plain").orThrow("text").content.contains("($45.99)"))
        }
    }

    @Test func sellersHearAboutReleasesPayoutsAndOnboarding() async throws {
        try await ServiceHarness.notifications { service in
            let fixture = Fixture()
            let order = fixture.order()
            try await service.publishOrder("order.placed", order)
            let released = EscrowReleased(
                escrowId: UUID(), orderId: order.orderId, sellerId: fixture.seller, amount: 117_283, currency: "usd",
                grossAmount: 123_456, feeAmount: 6_173, transferId: "tr_1")
            try await service.publish(released, topic: Topic.escrow, aggregateId: released.escrowId.uuidString)
            let sink = MailSink.shared
            let releaseMail = try await eventuallyMail(service, sink, fixture.sellerEmail, "escrow_released")
            let text = try releaseMail.part("text/plain").orThrow("text").content
            #expect(text.contains("Platform fee: $61.73") && text.contains("$1,172.83") && text.contains("$1,234.56"))

            let payout = PayoutChanged(
                payoutId: UUID(), sellerId: fixture.seller, sellerEmail: fixture.sellerEmail, amount: 50_000, currency: "usd",
                status: "failed", failureReason: "account_closed")
            try await service.publish(
                envelope: EventEnvelope(
                    type: PayoutChanged.failedType, aggregateType: PayoutChanged.aggregateType, aggregateId: payout.payoutId.uuidString,
                    correlationId: "test", producer: "tests", payload: try JSONValue(encoding: payout)),
                topic: Topic.escrow)
            let failed = try await eventuallyMail(service, sink, fixture.sellerEmail, "payout_failed")
            #expect(failed.subject == "Payout of $500.00 failed")

            // Onboarding: mailed when what is due changes, not for every identical update.
            let incomplete = SellerAccountUpdated(
                sellerId: fixture.seller, sellerEmail: fixture.sellerEmail, accountId: "acct_1", chargesEnabled: true,
                payoutsEnabled: false, currentlyDue: ["external_account"])
            try await service.publish(incomplete, topic: Topic.escrow, aggregateId: fixture.seller)
            try await service.publish(incomplete, topic: Topic.escrow, aggregateId: fixture.seller)
            let onboarding = try await eventuallyMail(service, sink, fixture.sellerEmail, "onboarding_incomplete")
            #expect(try onboarding.part("text/plain").orThrow("text").content.contains("- external account"))
            try await Task.sleep(for: .seconds(1))
            #expect(try sink.messages(to: fixture.sellerEmail).filter { $0.kind == "onboarding_incomplete" }.count == 1)
        }
    }

    @Test func adminsHearAboutChargebacksAndReconciliationDiscrepancies() async throws {
        let admin = "ops-\(UUID().uuidString.prefix(8).lowercased())@escrowmarket.test"
        try await ServiceHarness.notifications(environment: ["NOTIFY_ADMIN_EMAIL": admin]) { service in
            let chargeback = ChargebackChanged(
                paymentId: UUID(), chargeId: "ch_1", disputeId: "dp_1", amount: 2_000, currency: "eur", reason: "fraudulent",
                status: "needs_response", orders: [.init(orderId: UUID(), sellerId: "s", amount: 2_000)])
            try await service.publish(
                envelope: EventEnvelope(
                    type: ChargebackChanged.openedType, aggregateType: ChargebackChanged.aggregateType,
                    aggregateId: chargeback.paymentId.uuidString, correlationId: "test", producer: "tests",
                    payload: try JSONValue(encoding: chargeback)),
                topic: Topic.payments)
            let clean = ReconciliationCompleted(runId: UUID(), checked: 10, discrepancies: [])
            let dirty = ReconciliationCompleted(
                runId: UUID(), checked: 10,
                discrepancies: [.init(kind: "transfer", reference: "tr_9", expected: "1000", actual: "900")])
            try await service.publish(clean, topic: Topic.escrow, aggregateId: "recon")
            try await service.publish(dirty, topic: Topic.escrow, aggregateId: "recon")
            let sink = MailSink.shared
            let chargebackMail = try await eventuallyMail(service, sink, admin, "admin_chargeback")
            #expect(chargebackMail.subject.contains("€20.00"))
            let reconciliation = try await eventuallyMail(service, sink, admin, "admin_reconciliation_discrepancy")
            #expect(try reconciliation.part("text/plain").orThrow("text").content.contains("transfer tr_9: expected 1000, found 900"))
            // The clean run was on the same partition, before: it mailed nothing.
            #expect(try sink.messages(to: admin).filter { $0.kind == "admin_reconciliation_discrepancy" }.count == 1)
        }
    }
}

/// Waits for a mail of a kind to a recipient and returns it.
func eventuallyMail(_ service: ServiceHarness, _ sink: MailSink, _ recipient: String, _ kind: String) async throws -> ReceivedMail {
    _ = try await service.eventually { try sink.messages(to: recipient).contains { $0.kind == kind } }
    return try sink.messages(to: recipient).first { $0.kind == kind }.orThrow("\(kind) mail to \(recipient)")
}
