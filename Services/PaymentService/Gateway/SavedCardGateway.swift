import StripeClient

/// Customers and the cards saved for them, at Stripe. Card numbers never pass through here:
/// a client gives Stripe the card and us only the PaymentMethod's id.
protocol SavedCardGateway: Sendable {
    func createCustomer(buyerId: String, email: String?, idempotencyKey: String) async throws(StripeError) -> Customer
    func customer(_ id: String) async throws(StripeError) -> Customer
    /// Makes `paymentMethod` the customer's default (`invoice_settings.default_payment_method`).
    func setDefault(paymentMethod: String, customer: String, idempotencyKey: String) async throws(StripeError) -> Customer
    func createSetupIntent(customer: String, buyerId: String, idempotencyKey: String) async throws(StripeError) -> SetupIntent
    func confirmSetupIntent(_ id: String, paymentMethod: String, idempotencyKey: String) async throws(StripeError) -> SetupIntent
    func paymentMethod(_ id: String) async throws(StripeError) -> PaymentMethod
    /// The customer's cards, newest first (at most 100).
    func paymentMethods(customer: String) async throws(StripeError) -> [PaymentMethod]
    func attach(paymentMethod: String, customer: String, idempotencyKey: String) async throws(StripeError) -> PaymentMethod
    func detach(paymentMethod: String, idempotencyKey: String) async throws(StripeError) -> PaymentMethod
}

extension StripeGateway {
    func createCustomer(buyerId: String, email: String?, idempotencyKey: String) async throws(StripeError) -> Customer {
        var fields: [(String, StripeFormValue)] = [("metadata", .metadata(["buyer_id": buyerId]))]
        if let email { fields.append(("email", .string(email))) }
        return try await client.post("/v1/customers", fields, idempotencyKey: idempotencyKey)
    }

    func customer(_ id: String) async throws(StripeError) -> Customer {
        try await client.get("/v1/customers/\(StripeForm.escape(id))")
    }

    func setDefault(paymentMethod: String, customer: String, idempotencyKey: String) async throws(StripeError) -> Customer {
        try await client.post(
            "/v1/customers/\(StripeForm.escape(customer))",
            [("invoice_settings", .dictionary([("default_payment_method", .string(paymentMethod))]))], idempotencyKey: idempotencyKey)
    }

    func createSetupIntent(customer: String, buyerId: String, idempotencyKey: String) async throws(StripeError) -> SetupIntent {
        try await client.post(
            "/v1/setup_intents",
            [
                ("customer", .string(customer)), ("payment_method_types", .array(["card"])), ("usage", "off_session"),
                ("metadata", .metadata(["buyer_id": buyerId])),
            ],
            idempotencyKey: idempotencyKey)
    }

    func confirmSetupIntent(_ id: String, paymentMethod: String, idempotencyKey: String) async throws(StripeError) -> SetupIntent {
        try await client.post(
            "/v1/setup_intents/\(StripeForm.escape(id))/confirm", [("payment_method", .string(paymentMethod))], idempotencyKey: idempotencyKey)
    }

    func paymentMethod(_ id: String) async throws(StripeError) -> PaymentMethod {
        try await client.get("/v1/payment_methods/\(StripeForm.escape(id))")
    }

    func paymentMethods(customer: String) async throws(StripeError) -> [PaymentMethod] {
        let page: StripeList<PaymentMethod> = try await client.get(
            "/v1/payment_methods?customer=\(StripeForm.escape(customer))&type=card&limit=100")
        return page.data
    }

    func attach(paymentMethod: String, customer: String, idempotencyKey: String) async throws(StripeError) -> PaymentMethod {
        try await client.post(
            "/v1/payment_methods/\(StripeForm.escape(paymentMethod))/attach", [("customer", .string(customer))], idempotencyKey: idempotencyKey)
    }

    func detach(paymentMethod: String, idempotencyKey: String) async throws(StripeError) -> PaymentMethod {
        try await client.post("/v1/payment_methods/\(StripeForm.escape(paymentMethod))/detach", [], idempotencyKey: idempotencyKey)
    }
}
