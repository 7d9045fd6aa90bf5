import EventContracts

/// Checkout Sessions: created by the API, paid on the hosted page (`CheckoutPage`), expired by
/// the API. Paying makes (or reuses) the session's PaymentIntent and confirms it with the card
/// picked; a decline leaves the session open for another card, as Stripe's page does.
extension SimulatorState {
    struct NewCheckoutSession: Sendable {
        var currency: String
        var lineItems: [CheckoutSessionRecord.LineItem]
        var successURL: String
        var cancelURL: String?
        var metadata: [String: String]
        var clientReferenceId: String?
        var customerEmail: String?
        var intentMetadata: [String: String]
        var transferGroup: String?
        var expiresAt: Int64?
    }

    enum CheckoutPayment: Sendable {
        /// Paid: where the browser goes next.
        case paid(redirect: String)
        case declined(message: String)
    }

    func createCheckoutSession(_ new: NewCheckoutSession) throws(StripeAPIError) -> JSONValue {
        let now = Identifiers.now()
        // Stripe: between 30 minutes and 24 hours from now (24 hours when absent).
        let expiresAt = new.expiresAt ?? now + 86_400
        guard (now + 1_800...now + 86_400).contains(expiresAt) else {
            throw .invalidParameter("expires_at", "The `expires_at` timestamp must be between 30 minutes and 24 hours in the future.", code: "parameter_invalid_integer")
        }
        let id = "cs_test_" + Identifiers.make("", length: 40).dropFirst()
        let session = CheckoutSessionRecord(
            id: id, currency: new.currency, lineItems: new.lineItems, status: "open", paymentStatus: "unpaid", paymentIntent: nil,
            successURL: new.successURL, cancelURL: new.cancelURL, metadata: new.metadata, clientReferenceId: new.clientReferenceId,
            customerEmail: new.customerEmail, intentMetadata: new.intentMetadata, transferGroup: new.transferGroup, expiresAt: expiresAt,
            created: now, pageURL: "\(baseURL)/checkout/pay/\(id)")
        checkoutSessions[id] = session
        return session.json
    }

    func checkoutSession(_ id: String) throws(StripeAPIError) -> CheckoutSessionRecord {
        guard let session = checkoutSessions[id] else { throw .noSuch("checkout.session", id) }
        return session
    }

    func retrieveCheckoutSession(_ id: String) throws(StripeAPIError) -> JSONValue { try checkoutSession(id).json }

    /// `POST /v1/checkout/sessions/{id}/expire`: only an open session.
    func expireCheckoutSession(_ id: String) throws(StripeAPIError) -> JSONValue {
        var session = try checkoutSession(id)
        guard session.status == "open" else {
            throw .unexpectedState("Only Checkout Sessions with a status in [\"open\"] can be expired.")
        }
        session.status = "expired"
        checkoutSessions[id] = session
        // Stripe cancels the intent an expired session made (after a declined attempt).
        if let intent = session.paymentIntent, paymentIntents[intent]?.status != "canceled" {
            _ = try cancelPaymentIntent(intent, reason: "abandoned")
        }
        emit("checkout.session.expired", session.json)
        return session.json
    }

    /// The hosted page's "Pay" with a test payment method.
    func payCheckoutSession(_ id: String, paymentMethod: String) throws(StripeAPIError) -> CheckoutPayment {
        var session = try checkoutSession(id)
        guard session.status == "open" else { throw .unexpectedState("This Checkout Session is \(session.status).") }
        if session.expiresAt <= Identifiers.now() {
            _ = try expireCheckoutSession(id)
            throw .unexpectedState("This Checkout Session has expired.")
        }
        if session.paymentIntent == nil {
            let intent = try createPaymentIntent(NewIntent(
                amount: session.amountTotal, currency: session.currency, paymentMethodTypes: ["card"], paymentMethod: nil, customer: nil,
                description: "Checkout \(id)", metadata: session.intentMetadata, transferGroup: session.transferGroup))
            guard case .string(let intentId)? = intent["id"] else { throw .apiError("The simulator lost the session's intent.") }
            session.paymentIntent = intentId
            checkoutSessions[id] = session
        }
        do {
            _ = try confirmPaymentIntent(session.paymentIntent ?? "", paymentMethod: paymentMethod)
        } catch let error where error.isCardError {
            return .declined(message: error.message)
        }
        session.status = "complete"
        session.paymentStatus = "paid"
        checkoutSessions[id] = session
        emit("checkout.session.completed", session.json)
        return .paid(redirect: session.successURL.replacingOccurrences(of: "{CHECKOUT_SESSION_ID}", with: id))
    }
}
