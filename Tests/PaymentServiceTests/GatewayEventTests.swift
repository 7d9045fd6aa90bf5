import EventContracts
import Foundation
import HTTPTypes
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

@Suite struct GatewayEventTests {
    func deliver(_ type: String, object: JSONValue, account: String? = nil, _ service: ServiceHarness) async throws -> HTTPReply {
        var event: [String: JSONValue] = [
            "id": .string("evt_\(UUID().uuidString.prefix(12))"), "object": "event", "type": .string(type),
            "created": .integer(Int64(Date().timeIntervalSince1970)), "livemode": false, "data": ["object": object],
        ]
        if let account { event["account"] = .string(account) }
        let payload = Array(try JSONEncoder().encode(JSONValue.object(event)))
        let header = StripeSignature.header(payload: payload, secret: WebhookTests.secret, timestamp: Int64(Date().timeIntervalSince1970))
        return try await service.post("/api/v1/stripe/webhook", bytes: payload, headers: [.stripeSignatureHeader: header])
    }

    @Test func aChargebackFreezesRefundsAndIsRelayedForEscrow() async throws {
        try await ServiceHarness.payments { service in
            let (payment, orders) = try await service.paidCheckout(buyer: "buyer-chargeback", amounts: [4000])
            let paymentId = try UUID(uuidString: payment).orThrow("payment id")
            let charge = try await service.database.client.query(
                "SELECT charge_id FROM payments WHERE id = \(paymentId)", logger: TestEnvironment.logger
            ).decode(String.self).all().first.orThrow("charge id")
            let dispute: JSONValue = [
                "id": "dp_test_1", "object": "dispute", "amount": 4000, "currency": "usd", "status": "needs_response",
                "reason": "fraudulent", "charge": .string(charge),
            ]
            #expect(try await deliver("charge.dispute.created", object: dispute, service).status == .ok)
            #expect(try await service.eventually { try await service.outboxCount("chargeback.opened") == 1 })
            let envelope = try await service.database.client.query(
                "SELECT envelope FROM outbox WHERE event_type = 'chargeback.opened'", logger: TestEnvironment.logger
            ).decode(Data.self).all().first.orThrow("chargeback.opened")
            let opened = try EventEnvelope.decode(from: envelope).decodePayload(as: ChargebackChanged.self)
            #expect(opened.paymentId == paymentId)
            #expect(opened.orders.map(\.orderId) == orders)
            #expect(try await service.refund(payment, order: nil, amount: 100).status == .conflict)

            var closed = dispute
            if case .object(var fields) = closed { fields["status"] = "won"; closed = .object(fields) }
            #expect(try await deliver("charge.dispute.closed", object: closed, service).status == .ok)
            #expect(try await service.eventually { try await service.outboxCount("chargeback.closed") == 1 })
            #expect(try await service.refund(payment, order: nil, amount: 100).status == .accepted)
        }
    }

    @Test func accountPayoutAndTransferEventsAreRelayed() async throws {
        try await ServiceHarness.payments { service in
            let account: JSONValue = [
                "id": "acct_seller_1", "object": "account", "charges_enabled": true, "payouts_enabled": true, "details_submitted": true,
                "requirements": ["currently_due": []],
            ]
            #expect(try await deliver("account.updated", object: account, account: "acct_seller_1", service).status == .ok)
            let payout: JSONValue = [
                "id": "po_1", "object": "payout", "amount": 1200, "currency": "usd", "status": "failed",
                "failure_code": "account_closed", "arrival_date": 1_700_000_000,
            ]
            #expect(try await deliver("payout.failed", object: payout, account: "acct_seller_1", service).status == .ok)
            let transfer: JSONValue = [
                "id": "tr_1", "object": "transfer", "amount": 3000, "amount_reversed": 3000, "currency": "usd", "reversed": true,
                "destination": "acct_seller_1", "transfer_group": "group-1", "metadata": [:],
            ]
            #expect(try await deliver("transfer.reversed", object: transfer, service).status == .ok)
            let relayedAll = try await service.eventually {
                let counts = [
                    try await service.outboxCount("gateway.account_updated"), try await service.outboxCount("gateway.payout_updated"),
                    try await service.outboxCount("gateway.transfer_reversed"),
                ]
                return counts == [1, 1, 1]
            }
            #expect(relayedAll)
            let envelope = try await service.database.client.query(
                "SELECT envelope FROM outbox WHERE event_type = 'gateway.payout_updated'", logger: TestEnvironment.logger
            ).decode(Data.self).all().first.orThrow("payout event")
            let relayed = try EventEnvelope.decode(from: envelope).decodePayload(as: GatewayPayoutUpdated.self)
            #expect(relayed.accountId == "acct_seller_1")
            #expect(relayed.status == "failed")
            #expect(relayed.failureCode == "account_closed")
        }
    }
}
