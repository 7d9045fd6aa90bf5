import EventContracts

/// `/v1/checkout/sessions`: create (payment mode, line items with inline prices), retrieve, expire.
struct CheckoutRoutes: Sendable {
    let state: SimulatorState

    func register(on api: StripeAPI) {
        let lineItem = ParameterSchema.object([
            "price_data": .object(["currency": .string, "unit_amount": .integer, "product_data": .object(["name": .string, "description": .string])]),
            "quantity": .integer,
        ])
        api.post(
            "/v1/checkout/sessions",
            [
                "mode": .oneOf(["payment"]), "line_items": .list(lineItem), "success_url": .string, "cancel_url": .string,
                "metadata": .metadata, "client_reference_id": .string, "customer_email": .string, "expires_at": .integer,
                "payment_method_types": .list(.string),
                "payment_intent_data": .object(["metadata": .metadata, "transfer_group": .string, "description": .string]),
            ]
        ) { call in
            let p = call.parameters
            try call.requirePlatform()
            guard p.string("mode") == "payment" else {
                throw StripeAPIError.invalidParameter("mode", "The simulator supports Checkout in payment mode only.", code: "parameter_invalid_string")
            }
            let successURL = try p.requireString("success_url")
            let items = p.value("line_items")?.elements ?? []
            guard !items.isEmpty else { throw StripeAPIError.missingParameter("line_items") }
            var lineItems: [CheckoutSessionRecord.LineItem] = []
            var currency: String?
            for (index, item) in items.enumerated() {
                let fields = FormParameters(item)
                guard let unitAmount = fields.string("price_data", "unit_amount").flatMap({ Int64($0) }), unitAmount >= 0,
                      let itemCurrency = fields.string("price_data", "currency")?.lowercased(), let name = fields.string("price_data", "product_data", "name")
                else {
                    throw StripeAPIError.invalidParameter(
                        "line_items[\(index)][price_data]", "Each line item needs price_data with currency, unit_amount and product_data[name].",
                        code: "parameter_missing")
                }
                guard currency == nil || currency == itemCurrency else {
                    throw StripeAPIError.invalidParameter("line_items", "All line items must have the same currency.", code: "parameter_invalid_string")
                }
                currency = itemCurrency
                let quantity = fields.integer("quantity") ?? 1
                guard (1...999_999).contains(quantity) else {
                    throw StripeAPIError.invalidParameter("line_items[\(index)][quantity]", "Quantity must be from 1 to 999999.", code: "parameter_invalid_integer")
                }
                lineItems.append(.init(name: name, unitAmount: unitAmount, quantity: quantity))
            }
            return try await state.createCheckoutSession(SimulatorState.NewCheckoutSession(
                currency: currency ?? "usd", lineItems: lineItems, successURL: successURL, cancelURL: p.string("cancel_url"),
                metadata: p.metadata() ?? [:], clientReferenceId: p.string("client_reference_id"), customerEmail: p.string("customer_email"),
                intentMetadata: FormParameters(p.value("payment_intent_data") ?? .map([])).metadata() ?? [:], transferGroup: p.string("payment_intent_data", "transfer_group"),
                expiresAt: p.integer("expires_at")))
        }
        api.get("/v1/checkout/sessions/{id}") { call in try await state.retrieveCheckoutSession(call.id()) }
        api.post("/v1/checkout/sessions/{id}/expire", [:]) { call in try await state.expireCheckoutSession(call.id()) }
    }
}
