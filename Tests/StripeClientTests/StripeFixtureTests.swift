import EventContracts
import Foundation
import StripeClient
import Testing

/// Every Stripe object we decode must decode from Stripe's own example of it.
@Suite struct StripeFixtureTests {
    static let fixtures: [String: Data] = {
        // Tests/StripeClientTests/ → repository root → ../shared/stripe/fixtures3.json
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/stripe/fixtures3.json")
        guard let data = try? Data(contentsOf: url),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let resources = json["resources"] as? [String: Any]
        else { return [:] }
        return resources.compactMapValues { try? JSONSerialization.data(withJSONObject: $0) }
    }()

    func fixture(_ name: String) throws -> Data {
        try #require(Self.fixtures[name], "fixture \(name) missing from shared/stripe/fixtures3.json")
    }

    @Test func paymentIntent() throws {
        let intent = try JSONDecoder().decode(PaymentIntent.self, from: fixture("payment_intent"))
        #expect(intent.id.hasPrefix("pi_"))
        #expect(intent.amount >= 0)
    }

    @Test func charge() throws {
        let charge = try JSONDecoder().decode(Charge.self, from: fixture("charge"))
        #expect(charge.id.hasPrefix("ch_"))
    }

    @Test func checkoutSession() throws {
        let session = try JSONDecoder().decode(CheckoutSession.self, from: fixture("checkout.session"))
        #expect(session.id.hasPrefix("cs_"))
        #expect(session.expires_at > 0)
    }

    @Test func refund() throws {
        #expect(try JSONDecoder().decode(Refund.self, from: fixture("refund")).id.hasPrefix("re_"))
    }

    @Test func dispute() throws {
        let dispute = try JSONDecoder().decode(Dispute.self, from: fixture("dispute"))
        #expect(dispute.id.hasPrefix("du_") || dispute.id.hasPrefix("dp_"))
        #expect(dispute.charge.id.hasPrefix("ch_"))
    }

    @Test func account() throws {
        #expect(try JSONDecoder().decode(Account.self, from: fixture("account")).id.hasPrefix("acct_"))
    }

    @Test func accountLink() throws {
        #expect(try JSONDecoder().decode(AccountLink.self, from: fixture("account_link")).url.hasPrefix("https://"))
    }

    @Test func transferAndReversal() throws {
        #expect(try JSONDecoder().decode(Transfer.self, from: fixture("transfer")).id.hasPrefix("tr_"))
        #expect(try JSONDecoder().decode(TransferReversal.self, from: fixture("transfer_reversal")).id.hasPrefix("trr_"))
    }

    @Test func payout() throws {
        #expect(try JSONDecoder().decode(Payout.self, from: fixture("payout")).id.hasPrefix("po_"))
    }

    @Test func customerSetupIntentAndPaymentMethod() throws {
        let customer = try JSONDecoder().decode(Customer.self, from: fixture("customer"))
        #expect(customer.id.hasPrefix("cus_") && customer.defaultPaymentMethod == nil)
        let setup = try JSONDecoder().decode(SetupIntent.self, from: fixture("setup_intent"))
        #expect(setup.id.hasPrefix("seti_") && setup.client_secret?.hasPrefix(setup.id) == true)
        let method = try JSONDecoder().decode(PaymentMethod.self, from: fixture("payment_method"))
        #expect(method.card?.brand == "visa" && method.card?.last4 == "4242" && method.card?.exp_year == 2030)
    }

    @Test func eventAndItsObject() throws {
        let event = try JSONDecoder().decode(StripeEvent.self, from: fixture("event"))
        #expect(event.id.hasPrefix("evt_"))
        // An event wrapping a real payment intent decodes it by type.
        var wrapped = try JSONSerialization.jsonObject(with: fixture("event")) as! [String: Any]
        wrapped["type"] = "payment_intent.succeeded"
        wrapped["data"] = ["object": try JSONSerialization.jsonObject(with: fixture("payment_intent"))]
        let typed = try JSONDecoder().decode(StripeEvent.self, from: JSONSerialization.data(withJSONObject: wrapped))
        #expect(try typed.object(as: PaymentIntent.self).id.hasPrefix("pi_"))
    }

    /// An event's object, read from its JSON tree, is what the object's own text decodes to.
    @Test func eventObjectsReadAsTheirText() throws {
        func event(wrapping name: String) throws -> StripeEvent {
            var wrapped = try JSONSerialization.jsonObject(with: fixture("event")) as! [String: Any]
            wrapped["data"] = ["object": try JSONSerialization.jsonObject(with: fixture(name))]
            return try JSONDecoder().decode(StripeEvent.self, from: JSONSerialization.data(withJSONObject: wrapped))
        }
        func check<Object: Decodable & Equatable>(_ type: Object.Type, _ name: String) throws {
            let fromTree = try event(wrapping: name).object(as: type)
            #expect(try fromTree == JSONDecoder().decode(type, from: fixture(name)), "\(name)")
        }
        try check(PaymentIntent.self, "payment_intent")
        try check(Charge.self, "charge")
        try check(Refund.self, "refund")
        try check(Dispute.self, "dispute")
        try check(Account.self, "account")
        try check(Transfer.self, "transfer")
        try check(Payout.self, "payout")
        let session = try event(wrapping: "checkout.session").object(as: CheckoutSession.self)
        let sessionText = try JSONDecoder().decode(CheckoutSession.self, from: fixture("checkout.session"))
        #expect(session.id == sessionText.id && session.expires_at == sessionText.expires_at && session.status == sessionText.status)
        // A wrong type is a decoding error, as from text.
        #expect(throws: DecodingError.self) { try event(wrapping: "account").object(as: Payout.self) }
    }
}
