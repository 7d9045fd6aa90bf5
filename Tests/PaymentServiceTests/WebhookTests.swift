import EventContracts
import Foundation
import HTTPTypes
import StripeClient
import Testing
import TestSupport

@testable import PaymentService

@Suite struct WebhookTests {
    static let secret = "whsec_escrowmarket_local_simulated_gateway"

    static func event(id: String = "evt_\(UUID().uuidString.prefix(12))", type: String, intent: String, status: String) -> [UInt8] {
        let event: JSONValue = [
            "id": .string(id), "object": "event", "type": .string(type), "created": .integer(Int64(Date().timeIntervalSince1970)),
            "livemode": false,
            "data": ["object": [
                "id": .string(intent), "object": "payment_intent", "amount": 4999, "currency": "usd", "status": .string(status),
                "metadata": [:], "created": 1_700_000_000, "latest_charge": "ch_test_1",
            ]],
        ]
        return Array(try! JSONEncoder().encode(event))
    }

    func deliver(_ payload: [UInt8], _ service: ServiceHarness, secret: String = WebhookTests.secret, at: Date = Date()) async throws -> HTTPReply {
        let header = StripeSignature.header(payload: payload, secret: secret, timestamp: Int64(at.timeIntervalSince1970))
        return try await service.post("/api/v1/stripe/webhook", bytes: payload, headers: [.stripeSignatureHeader: header, .contentType: "application/json"])
    }

    @Test func badOrStaleSignaturesAre400AndChangeNothing() async throws {
        try await ServiceHarness.payments { service in
            try Task.checkCancellation()  // a statement-level try: every other throw here is inside #expect
            let payload = Self.event(type: "payment_intent.succeeded", intent: "pi_x", status: "succeeded")
            #expect(try await deliver(payload, service, secret: "whsec_wrong").status == .badRequest)
            #expect(try await deliver(payload, service, at: Date().addingTimeInterval(-600)).status == .badRequest)
            #expect(try await service.post("/api/v1/stripe/webhook", bytes: payload, headers: [:]).status == .badRequest)
            var tampered = payload
            tampered[tampered.count / 2] ^= 0x01
            let header = StripeSignature.header(payload: payload, secret: Self.secret, timestamp: Int64(Date().timeIntervalSince1970))
            #expect(try await service.post("/api/v1/stripe/webhook", bytes: tampered, headers: [.stripeSignatureHeader: header]).status == .badRequest)
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events") == 0)
            #expect(try await deliver(payload, service).status == .ok)
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events") == 1)
        }
    }

    /// A type nothing acts on (a checkout's payment_intent.created and charge.succeeded) is
    /// acknowledged, still only when signed, and not stored; the types acted on are.
    @Test func onlyTheTypesActedOnAreStored() async throws {
        try await ServiceHarness.payments { service in
            try Task.checkCancellation()  // a statement-level try: every other throw here is inside #expect
            for type in ["payment_intent.created", "charge.succeeded", "customer.created"] {
                let payload = Self.event(type: type, intent: "pi_ignored", status: "requires_payment_method")
                #expect(try await deliver(payload, service, secret: "whsec_wrong").status == .badRequest)
                #expect(try await deliver(payload, service).status == .ok)
            }
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events") == 0)
            for type in WebhookProcessor.handledTypes.sorted() {
                #expect(try await deliver(Self.event(type: type, intent: "pi_unknown", status: "succeeded"), service).status == .ok)
            }
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events") == WebhookProcessor.handledTypes.count)
        }
    }

    /// The simulator of `scripts/dev up`, the bench and chaos, and of compose, sends the types
    /// listed in deploy/stripe/webhook-events.txt, as a real endpoint is registered for them: the
    /// list must be what PaymentService acts on, no more and no less.
    @Test func theRegisteredWebhookTypesAreTheTypesActedOn() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let listed = try String(contentsOf: root.appendingPathComponent("deploy/stripe/webhook-events.txt"), encoding: .utf8)
        #expect(Set(listed.split(whereSeparator: \.isWhitespace).map(String.init)) == WebhookProcessor.handledTypes)
    }

    @Test func theSameWebhookTwiceAndConcurrentlyHasOneEffect() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-dupe")
            let intent = try await service.call(
                .post, "/api/v1/payments/create-intent", as: "buyer-dupe", roles: ["buyer"], body: ["checkoutId": JSONValue.string(checkout.uuidString)])
            let intentId = try (intent.json()["intentId"] as? String).orThrow("intentId")
            let payload = Self.event(id: "evt_dupe_1", type: "payment_intent.succeeded", intent: intentId, status: "succeeded")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<5 { group.addTask { try await deliver(payload, service).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok })
            #expect(try await deliver(payload, service).status == .ok)
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })
            try await Task.sleep(for: .seconds(1))
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events WHERE id = 'evt_dupe_1'") == 1)
            #expect(try await service.outboxCount("payment.succeeded") == 1)
        }
    }

    /// A webhook is stored and applied in one transaction before Stripe gets its 200 (one commit,
    /// no wait for the processor's next pass: its `processed_at` is the transaction's time, the
    /// same as its `received_at`). One that cannot be applied now is still stored, and the
    /// processor records its failures.
    @Test func aWebhookIsAppliedBeforeItIsAcknowledgedAndOneThatFailsIsStoredForTheProcessor() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-inline")
            try await service.database.client.query(
                "UPDATE payments SET intent_id = 'pi_sim_inline', status = 'processing' WHERE checkout_id = \(checkout)",
                logger: TestEnvironment.logger)
            let payload = Self.event(id: "evt_inline", type: "payment_intent.succeeded", intent: "pi_sim_inline", status: "succeeded")
            #expect(try await deliver(payload, service).status == .ok)
            #expect(try await service.paymentStatus(checkout: checkout) == "succeeded")
            #expect(try await service.database.count(
                "SELECT count(*) FROM stripe_events WHERE id = 'evt_inline' AND processed_at = received_at AND attempts = 0") == 1)
            #expect(try await service.outboxCount("payment.succeeded") == 1)

            // Its object does not decode (no amount, currency or metadata): stored, then failed by the processor.
            let broken: JSONValue = [
                "id": "evt_broken", "object": "event", "type": "payment_intent.succeeded",
                "created": .integer(Int64(Date().timeIntervalSince1970)), "livemode": false,
                "data": ["object": ["id": "pi_sim_inline", "object": "payment_intent", "status": "succeeded"]],
            ]
            #expect(try await deliver(Array(try JSONEncoder().encode(broken)), service).status == .ok)
            #expect(try await service.eventually {
                try await service.database.count(
                    "SELECT count(*) FROM stripe_events WHERE id = 'evt_broken' AND processed_at IS NULL AND failures >= 1") == 1
            })
            #expect(try await service.outboxCount("payment.succeeded") == 1)
        }
    }

    @Test func aWebhookBeforeItsPaymentIsAppliedWhenThePaymentAppearsAndStaleOnesNeverGoBack() async throws {
        try await ServiceHarness.payments { service in
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-early")
            // The intent id is known only once the intent exists; deliver its success first.
            let early = Self.event(id: "evt_early", type: "payment_intent.succeeded", intent: "pi_sim_future", status: "succeeded")
            #expect(try await deliver(early, service).status == .ok)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events WHERE processed_at IS NULL AND waiting_for IS NOT NULL") == 1)

            // The payment learns its intent id (as create-intent would record it).
            try await service.database.client.query(
                "UPDATE payments SET intent_id = 'pi_sim_future', status = 'processing' WHERE checkout_id = \(checkout)",
                logger: TestEnvironment.logger)
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })

            // A failure reported later (out of order) does not move it back.
            let stale = Self.event(id: "evt_stale", type: "payment_intent.payment_failed", intent: "pi_sim_future", status: "requires_payment_method")
            #expect(try await deliver(stale, service).status == .ok)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM stripe_events WHERE processed_at IS NULL") == 0 })
            #expect(try await service.paymentStatus(checkout: checkout) == "succeeded")
            #expect(try await service.outboxCount("payment.failed") == 0)
            #expect(try await service.outboxCount("payment.succeeded") == 1)
        }
    }

    /// More than a page of events that wait for payments we will never know (another app on
    /// the same Stripe account) must not stop the events behind them.
    @Test func eventsThatWaitForeverDoNotBlockTheOnesBehindThem() async throws {
        try await ServiceHarness.payments { service in
            for index in 0..<105 {
                let stranger = Self.event(id: "evt_stranger_\(index)", type: "payment_intent.succeeded", intent: "pi_unknown_\(index)", status: "succeeded")
                #expect(try await deliver(stranger, service).status == .ok)
            }
            let (checkout, _) = try await service.announceCheckout(buyer: "buyer-behind")
            try await service.database.client.query(
                "UPDATE payments SET intent_id = 'pi_sim_behind', status = 'processing' WHERE checkout_id = \(checkout)",
                logger: TestEnvironment.logger)
            let mine = Self.event(id: "evt_mine", type: "payment_intent.succeeded", intent: "pi_sim_behind", status: "succeeded")
            #expect(try await deliver(mine, service).status == .ok)
            #expect(try await service.eventually { try await service.paymentStatus(checkout: checkout) == "succeeded" })
            #expect(try await service.database.count("SELECT count(*) FROM stripe_events WHERE processed_at IS NULL AND waiting_for IS NOT NULL") == 105)
        }
    }
}

extension HTTPField.Name {
    static let stripeSignatureHeader = Self("Stripe-Signature")!
}
