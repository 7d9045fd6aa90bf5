import AsyncHTTPClient
import EventContracts
import Foundation
import NIOCore
import StripeClient
import TestSupport
import Testing

/// Checkout Sessions in the simulator: created by the API, paid on the hosted page (a decline
/// keeps the session open), expired by the API, each with Stripe's events.
@Suite struct CheckoutSessionTests {
    static let fields: [(String, StripeFormValue)] = [
        ("mode", "payment"),
        ("line_items", .array([
            .dictionary([("price_data", .dictionary([("currency", "usd"), ("unit_amount", 1250), ("product_data", .dictionary([("name", "Lamp")]))])), ("quantity", 2)]),
        ])),
        ("success_url", "https://shop.example/paid?session={CHECKOUT_SESSION_ID}"), ("cancel_url", "https://shop.example/cart"),
        ("metadata", .metadata(["payment_id": "p-1"])),
        ("payment_intent_data", .dictionary([("metadata", .metadata(["payment_id": "p-1"])), ("transfer_group", "checkout-1")])),
    ]

    /// The hosted page's form, posted without following the redirect (it leaves for success_url).
    func pay(_ sim: SimulatorHarness, _ session: CheckoutSession, with card: String) async throws -> (Int, String?) {
        let path = try #require(session.url.flatMap { URL(string: $0)?.path })
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        var request = HTTPClientRequest(url: sim.url + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "payment_method=\(card)"))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return (Int(response.status.code), response.headers.first(name: "Location"))
    }

    @Test func aSessionIsPaidOnItsPageAfterADeclineAndCompletesOnce() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let session: CheckoutSession = try await sim.client().post("/v1/checkout/sessions", Self.fields, idempotencyKey: "cs-1")
        #expect(session.status == "open" && session.payment_status == "unpaid" && session.amount_total == 2500)
        let again: CheckoutSession = try await sim.client().post("/v1/checkout/sessions", Self.fields, idempotencyKey: "cs-1")
        #expect(again.id == session.id)

        let page = try await sim.raw(.GET, try #require(session.url.flatMap { URL(string: $0)?.path }))
        #expect(page.0 == 200 && page.1.string?.contains("Lamp") == true)

        let declined = try await pay(sim, session, with: "pm_card_chargeDeclined")
        #expect(declined.0 == 200 && declined.1 == nil)
        let stillOpen: CheckoutSession = try await sim.client().get("/v1/checkout/sessions/\(session.id)")
        #expect(stillOpen.status == "open" && stillOpen.payment_intent != nil)

        let paid = try await pay(sim, session, with: "pm_card_visa")
        #expect(paid.0 == 303 && paid.1 == "https://shop.example/paid?session=\(session.id)")
        let done: CheckoutSession = try await sim.client().get("/v1/checkout/sessions/\(session.id)")
        #expect(done.status == "complete" && done.payment_status == "paid" && done.url == nil)
        let intent: PaymentIntent = try await sim.client().get("/v1/payment_intents/\(try #require(done.payment_intent?.id))")
        #expect(intent.status == "succeeded" && intent.amount == 2500 && intent.transfer_group == "checkout-1" && intent.metadata["payment_id"] == "p-1")
        let completed = try await sim.stripeGET("/v1/events?type=checkout.session.completed")
        #expect(completed["data"]?.array?.count == 1)
        #expect(try await pay(sim, session, with: "pm_card_visa").0 == 409)
        #expect(await stripeError { try await sim.client().post("/v1/checkout/sessions/\(session.id)/expire", [], idempotencyKey: UUID().uuidString, as: JSONValue.self) }?.httpStatus == 400)
    }

    @Test func anExpiredSessionCannotBePaidAndIsReported() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let session: CheckoutSession = try await sim.client().post("/v1/checkout/sessions", Self.fields, idempotencyKey: "cs-2")
        let expired: CheckoutSession = try await sim.client().post("/v1/checkout/sessions/\(session.id)/expire", [], idempotencyKey: UUID().uuidString)
        #expect(expired.status == "expired" && expired.url == nil)
        #expect(try await pay(sim, session, with: "pm_card_visa").0 == 409)
        #expect(try await sim.stripeGET("/v1/events?type=checkout.session.expired")["data"]?.array?.count == 1)
        let missing = await stripeError {
            try await sim.client().post("/v1/checkout/sessions", [("mode", "payment"), ("success_url", "https://x.example")], idempotencyKey: UUID().uuidString, as: JSONValue.self)
        }
        #expect(missing?.httpStatus == 400)
    }
}
