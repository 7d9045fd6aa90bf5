import Foundation
import StripeClient

/// What the gateway needs to create one PaymentIntent on the platform account.
struct IntentRequest: Sendable {
    var amount: Int64
    var currency: String
    var metadata: [String: String]
    /// The checkout id: later transfers to sellers use the same group.
    var transferGroup: String
    /// Derived from the payment id, so a retry can never create a second intent.
    var idempotencyKey: String
}

/// One Checkout Session for a payment: the whole payment as one line per order.
struct CheckoutSessionRequest: Sendable {
    struct Line: Sendable, Codable {
        var name: String
        var amount: Int64
    }

    var currency: String
    var lines: [Line]
    var successURL: String
    var cancelURL: String
    /// On the session and on the PaymentIntent it makes (`payment_id`, `checkout_id`, …).
    var metadata: [String: String]
    var transferGroup: String
    var customerEmail: String?
    var idempotencyKey: String
}

/// Charges on the platform account: Stripe itself, or a local simulation of it that follows
/// Stripe's test payment methods and delivers signed webhooks through the same code path.
protocol PaymentGateway: SavedCardGateway {
    func createIntent(_ request: IntentRequest) async throws(StripeError) -> PaymentIntent
    /// `customer` is the buyer's Stripe Customer when `paymentMethod` is one of its saved cards.
    func confirmIntent(id: String, paymentMethod: String, customer: String?, idempotencyKey: String) async throws(StripeError) -> PaymentIntent
    func createCheckoutSession(_ request: CheckoutSessionRequest) async throws(StripeError) -> CheckoutSession
    /// The intent as Stripe has it now (for an admin checking before an override).
    func retrieveIntent(id: String) async throws(StripeError) -> PaymentIntent
    /// `refundId` (ours) goes into the refund's metadata: Stripe's reports about it can then be
    /// matched before its answer reached us.
    func refund(
        chargeId: String, amount: Int64, currency: String, reason: String, refundId: String, idempotencyKey: String
    ) async throws(StripeError) -> Refund
}

/// Stripe's API (or localstripe) through the shared client.
struct StripeGateway: PaymentGateway {
    let client: StripeClient
    /// localstripe rejects `transfer_group` on PaymentIntents; real Stripe needs it.
    let sendsTransferGroup: Bool

    func createIntent(_ request: IntentRequest) async throws(StripeError) -> PaymentIntent {
        var fields: [(String, StripeFormValue)] = [
            ("amount", .integer(request.amount)), ("currency", .string(request.currency)),
            ("payment_method_types", .array(["card"])), ("metadata", .metadata(request.metadata)),
        ]
        if sendsTransferGroup { fields.append(("transfer_group", .string(request.transferGroup))) }
        return try await client.post("/v1/payment_intents", fields, idempotencyKey: request.idempotencyKey)
    }

    /// Attaches the payment method (and the customer whose saved card it is), then confirms (two
    /// calls: localstripe takes no `payment_method` on `/confirm`, and Stripe accepts both forms).
    func confirmIntent(id: String, paymentMethod: String, customer: String?, idempotencyKey: String) async throws(StripeError) -> PaymentIntent {
        var fields: [(String, StripeFormValue)] = [("payment_method", .string(paymentMethod))]
        if let customer { fields.append(("customer", .string(customer))) }
        let _: PaymentIntent = try await client.post("/v1/payment_intents/\(id)", fields, idempotencyKey: "\(idempotencyKey)-attach")
        return try await client.post("/v1/payment_intents/\(id)/confirm", [], idempotencyKey: idempotencyKey)
    }

    func createCheckoutSession(_ request: CheckoutSessionRequest) async throws(StripeError) -> CheckoutSession {
        var fields: [(String, StripeFormValue)] = [
            ("mode", "payment"),
            ("line_items", .array(request.lines.map { line in
                .dictionary([
                    ("price_data", .dictionary([
                        ("currency", .string(request.currency)), ("unit_amount", .integer(line.amount)),
                        ("product_data", .dictionary([("name", .string(line.name))])),
                    ])),
                    ("quantity", 1),
                ])
            })),
            ("success_url", .string(request.successURL)), ("cancel_url", .string(request.cancelURL)),
            ("metadata", .metadata(request.metadata)),
            ("payment_intent_data", .dictionary([("metadata", .metadata(request.metadata)), ("transfer_group", .string(request.transferGroup))])),
        ]
        if let email = request.customerEmail { fields.append(("customer_email", .string(email))) }
        return try await client.post("/v1/checkout/sessions", fields, idempotencyKey: request.idempotencyKey)
    }

    func retrieveIntent(id: String) async throws(StripeError) -> PaymentIntent {
        try await client.get("/v1/payment_intents/\(id)")
    }

    func refund(
        chargeId: String, amount: Int64, currency: String, reason: String, refundId: String, idempotencyKey: String
    ) async throws(StripeError) -> Refund {
        try await client.post(
            "/v1/refunds",
            [("charge", .string(chargeId)), ("amount", .integer(amount)), ("metadata", .metadata(["reason": reason, "refund_id": refundId]))],
            idempotencyKey: idempotencyKey)
    }
}
