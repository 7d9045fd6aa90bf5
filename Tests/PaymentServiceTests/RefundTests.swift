import EventContracts
import Foundation
import HTTPTypes
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

extension ServiceHarness {
    /// A checkout announced, paid with pm_card_visa and settled by its webhook.
    func paidCheckout(buyer: String, amounts: [Int64]) async throws -> (payment: String, orders: [UUID]) {
        let (checkout, orders) = try await announceCheckout(buyer: buyer, amounts: amounts)
        let intent = try await call(
            .post, "/api/v1/payments/create-intent", as: buyer, roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
        let payment = try (intent.json()["paymentId"] as? String).orThrow("paymentId")
        _ = try await call(
            .post, "/api/v1/payments/confirm", as: buyer, roles: ["buyer"],
            body: ["paymentId": JSONValue.string(payment), "paymentMethod": "pm_card_visa"])
        guard try await eventually({ try await paymentStatus(checkout: checkout) == "succeeded" }) else {
            throw HarnessError("payment did not succeed")
        }
        return (payment, orders)
    }

    func refund(_ payment: String, order: UUID?, amount: Int64, key: String = UUID().uuidString) async throws -> HTTPReply {
        var body: [String: JSONValue] = ["paymentId": .string(payment), "amount": .integer(amount), "reason": "customer service"]
        if let order { body["orderId"] = .string(order.uuidString) }
        return try await call(.post, "/api/v1/admin/refunds", as: "ops", roles: ["admin"], body: JSONValue.object(body), idempotencyKey: key)
    }
}

@Suite struct RefundTests {
    @Test func anAdminRefundsAnOrderInFullAndThePaymentRecordsIt() async throws {
        try await ServiceHarness.payments { service in
            let (payment, orders) = try await service.paidCheckout(buyer: "buyer-rf", amounts: [3000])
            let reply = try await service.refund(payment, order: nil, amount: 3000)
            #expect(reply.status == .accepted)
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 1 })
            let envelope = try await service.database.client.query(
                "SELECT envelope FROM outbox WHERE event_type = 'refund.succeeded'", logger: TestEnvironment.logger
            ).decode(Data.self).all().first.orThrow("refund.succeeded")
            let event = try EventEnvelope.decode(from: envelope).decodePayload(as: RefundSucceeded.self)
            #expect(event.orderId == orders[0])
            #expect(event.amount == 3000)
            #expect(event.orderFullyRefunded)
            let status = try await service.database.client.query(
                "SELECT status, amount_refunded FROM payments WHERE id = \(UUID(uuidString: payment)!)", logger: TestEnvironment.logger
            ).decode((String, Int64).self).all().first
            #expect(status?.0 == "refunded")
            #expect(status?.1 == 3000)
            // Nothing is left to refund: the refusal names the payment's state, and a retry with
            // the same key gets the same answer.
            let key = UUID().uuidString
            let more = try await service.refund(payment, order: nil, amount: 1, key: key)
            #expect(more.status == .conflict)
            #expect(try more.json()["currentState"] as? String == "refunded")
            #expect(try await service.refund(payment, order: nil, amount: 1, key: key).status == .conflict)
            #expect(try await service.database.count("SELECT count(*) FROM refunds") == 1)
        }
    }

    @Test func concurrentRefundsNeverExceedWhatWasPaid() async throws {
        try await ServiceHarness.payments { service in
            let (payment, orders) = try await service.paidCheckout(buyer: "buyer-rc", amounts: [3000, 2000])
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 { group.addTask { try await service.refund(payment, order: orders[0], amount: 1000).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .accepted }.count == 3)
            #expect(statuses.filter { $0 == .unprocessableContent }.count == 3)
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 3 })
            #expect(try await service.database.count("SELECT sum(amount)::int FROM refunds WHERE status = 'succeeded'") == 3000)
            // The other order is untouched and the payment is partially refunded.
            let status = try await service.database.client.query(
                "SELECT status FROM payments WHERE id = \(UUID(uuidString: payment)!)", logger: TestEnvironment.logger
            ).decode(String.self).all().first
            #expect(status == "partially_refunded")
            let several = try await service.refund(payment, order: nil, amount: 10)
            #expect(several.status == .unprocessableContent)
        }
    }

    @Test func aRefundThatFailsLaterAtTheGatewayIsReversed() async throws {
        try await ServiceHarness.payments { service in
            let (payment, _) = try await service.paidCheckout(buyer: "buyer-late-fail", amounts: [2000])
            #expect(try await service.refund(payment, order: nil, amount: 800).status == .accepted)
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 1 })
            let stripeId = try await service.database.client.query(
                "SELECT stripe_refund_id FROM refunds", logger: TestEnvironment.logger
            ).decode(String.self).all().first.orThrow("stripe refund id")
            // The buyer's bank returns it: Stripe reports the refund failed (refund.updated).
            let stripe = try #require(service.stripe)
            try await stripe.control(.POST, "/_sim/refunds/\(stripeId)/fail", ["failureReason": "expired_or_canceled_card"])
            #expect(try await service.eventually { try await service.outboxCount("refund.failed") == 1 })
            let state = try await service.database.client.query(
                "SELECT status, amount_refunded FROM payments WHERE id = \(UUID(uuidString: payment)!)", logger: TestEnvironment.logger
            ).decode((String, Int64).self).all().first
            #expect(state?.0 == "succeeded")
            #expect(state?.1 == 0)
            let failed = try await service.database.client.query(
                "SELECT envelope FROM outbox WHERE event_type = 'refund.failed'", logger: TestEnvironment.logger
            ).decode(Data.self).all().first.orThrow("refund.failed")
            // EscrowService must know the money it booked as refunded is the platform's again.
            #expect(try EventEnvelope.decode(from: failed).decodePayload(as: RefundFailed.self).afterSuccess == true)
            #expect(try await service.database.count("SELECT count(*)::int FROM refunds WHERE status = 'failed'") == 1)
        }
    }

    @Test func noRefundIsIssuedOnAChargeUnderChargeback() async throws {
        try await ServiceHarness.payments { service in
            let (payment, _) = try await service.paidCheckout(buyer: "buyer-cb", amounts: [1500])
            try await service.database.client.query(
                "UPDATE payments SET chargeback_open = true WHERE id = \(UUID(uuidString: payment)!)", logger: TestEnvironment.logger)
            let reply = try await service.refund(payment, order: nil, amount: 500)
            #expect(reply.status == .conflict)
            #expect(try await service.database.count("SELECT count(*) FROM refunds") == 0)
        }
    }

    @Test func escrowRequestsRefundsByEventAndGetsAnAnswerEitherWay() async throws {
        try await ServiceHarness.payments { service in
            let (_, orders) = try await service.paidCheckout(buyer: "buyer-ev", amounts: [2500])
            try await service.publish(
                RefundRequested(requestId: UUID(), orderId: orders[0], amount: 2500, currency: "usd", reason: "cancelled before shipment"),
                topic: Topic.escrow, aggregateId: orders[0].uuidString)
            #expect(try await service.eventually { try await service.outboxCount("refund.succeeded") == 1 })
            // The answer carries the request's correlation id (the harness publishes with "test").
            #expect(try await service.database.count(
                "SELECT count(*) FROM outbox WHERE event_type = 'refund.succeeded' AND correlation_id = 'test'") == 1)
            // Asking again for more than is left is refused with refund.failed, not an error loop.
            try await service.publish(
                RefundRequested(requestId: UUID(), orderId: orders[0], amount: 1, currency: "usd", reason: "again"),
                topic: Topic.escrow, aggregateId: orders[0].uuidString)
            #expect(try await service.eventually { try await service.outboxCount("refund.failed") == 1 })
            #expect(try await service.database.count("SELECT count(*) FROM refunds") == 1)
        }
    }
}
