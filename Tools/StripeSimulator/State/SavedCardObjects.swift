import EventContracts
import Foundation

/// A card PaymentMethod the simulator holds: a copy of a test payment method, made when one is
/// saved for a customer (Stripe makes a new `pm_…` each time `pm_card_visa` is used that way).
struct PaymentMethodRecord: Sendable {
    var id: String
    /// The test payment method it was made from: decides what charging it does.
    var testMethod: String
    var customer: String?
    /// Detached from its customer: Stripe never lets it be used or attached again.
    var detached = false
    var expMonth: Int64
    var expYear: Int64
    var metadata: [String: String] = [:]
    var created: Int64

    /// A test payment method as `GET /v1/payment_methods/pm_card_visa` shows it.
    static func test(_ id: String) -> PaymentMethodRecord {
        PaymentMethodRecord(id: id, testMethod: id, expMonth: 12, expYear: expiryYear, created: Identifiers.now())
    }

    /// A new `pm_…` made from a test payment method, as saving one makes it.
    static func copy(of testMethod: String) -> PaymentMethodRecord {
        PaymentMethodRecord(id: Identifiers.make("pm"), testMethod: testMethod, expMonth: 12, expYear: expiryYear, created: Identifiers.now())
    }

    /// Test cards expire a few years ahead, so they never fail as expired.
    static var expiryYear: Int64 { Int64(Calendar(identifier: .gregorian).component(.year, from: Date())) + 3 }

    var json: JSONValue {
        let card = TestPaymentMethods.card(of: testMethod)
        return [
            "id": .string(id), "object": "payment_method", "allow_redisplay": "unspecified",
            "billing_details": [
                "address": ["city": nil, "country": nil, "line1": nil, "line2": nil, "postal_code": nil, "state": nil],
                "email": nil, "name": nil, "phone": nil,
            ],
            "card": [
                "brand": .string(card.brand), "checks": ["address_line1_check": nil, "address_postal_code_check": nil, "cvc_check": "pass"],
                "country": "US", "display_brand": .string(card.brand), "exp_month": .integer(expMonth), "exp_year": .integer(expYear),
                "fingerprint": .string("fp\(card.brand.prefix(2))\(card.last4)sim"), "funding": .string(card.funding),
                "generated_from": nil, "last4": .string(card.last4), "networks": ["available": [.string(card.brand)], "preferred": nil],
                "three_d_secure_usage": ["supported": true], "wallet": nil,
            ],
            "created": .integer(created), "customer": customer.json, "livemode": false, "metadata": metadata.json, "type": "card",
        ]
    }
}

/// A SetupIntent: saves a payment method for a customer's later payments.
struct SetupIntentRecord: Sendable {
    var id: String
    var clientSecret: String
    var customer: String?
    var paymentMethod: String?
    var paymentMethodTypes: [String]
    var usage: String
    var status: String
    var description: String?
    var metadata: [String: String]
    var lastSetupError: JSONValue?
    var created: Int64

    var json: JSONValue {
        [
            "id": .string(id), "object": "setup_intent", "application": nil, "automatic_payment_methods": nil,
            "cancellation_reason": nil, "client_secret": .string(clientSecret), "created": .integer(created), "customer": customer.json,
            "description": description.json, "flow_directions": nil, "last_setup_error": lastSetupError ?? .null, "latest_attempt": nil,
            "livemode": false, "mandate": nil, "metadata": metadata.json, "next_action": nil, "on_behalf_of": nil,
            "payment_method": paymentMethod.json, "payment_method_options": ["card": ["request_three_d_secure": "automatic"]],
            "payment_method_types": paymentMethodTypes.json, "single_use_mandate": nil, "status": .string(status), "usage": .string(usage),
        ]
    }
}
