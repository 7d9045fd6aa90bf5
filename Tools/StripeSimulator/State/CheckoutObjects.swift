import EventContracts

/// A Checkout Session in `payment` mode on the platform account: Stripe's hosted page collects
/// the card, and the session's PaymentIntent carries the payment.
struct CheckoutSessionRecord: Sendable {
    struct LineItem: Sendable {
        var name: String
        var unitAmount: Int64
        var quantity: Int64
    }

    var id: String
    var currency: String
    var lineItems: [LineItem]
    /// `open`, `complete` or `expired`.
    var status: String
    /// `unpaid` or `paid`.
    var paymentStatus: String
    var paymentIntent: String?
    var successURL: String
    var cancelURL: String?
    var metadata: [String: String]
    var clientReferenceId: String?
    var customerEmail: String?
    /// `payment_intent_data`: given to the intent the session makes.
    var intentMetadata: [String: String]
    var transferGroup: String?
    var expiresAt: Int64
    var created: Int64
    /// The hosted page (the simulator's own).
    var pageURL: String

    var amountTotal: Int64 { lineItems.reduce(0) { $0 + $1.unitAmount * $1.quantity } }

    var json: JSONValue {
        [
            "id": .string(id), "object": "checkout.session", "mode": "payment", "livemode": false,
            "amount_subtotal": .integer(amountTotal), "amount_total": .integer(amountTotal), "currency": .string(currency),
            "status": .string(status), "payment_status": .string(paymentStatus), "payment_intent": paymentIntent.json,
            "success_url": .string(successURL), "cancel_url": cancelURL.json, "metadata": metadata.json,
            "client_reference_id": clientReferenceId.json, "customer_email": customerEmail.json,
            "payment_method_types": ["card"], "expires_at": .integer(expiresAt), "created": .integer(created),
            "url": status == "open" ? .string(pageURL) : .null,
        ]
    }
}
