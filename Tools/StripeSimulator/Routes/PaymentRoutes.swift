import EventContracts

/// `/v1/payment_intents`, `/v1/charges`, `/v1/refunds` and `/v1/customers`.
struct PaymentRoutes: Sendable {
    let state: SimulatorState

    func register(on api: StripeAPI) {
        api.post(
            "/v1/payment_intents",
            [
                "amount": .integer, "currency": .string, "payment_method_types": .list(.string), "metadata": .metadata,
                "transfer_group": .string, "description": .string, "customer": .string, "payment_method": .string,
                "confirm": .boolean, "receipt_email": .string,
            ]
        ) { call in
            let p = call.parameters
            try call.requirePlatform()
            guard let amount = try p.amount() else { throw StripeAPIError.missingParameter("amount") }
            let new = SimulatorState.NewIntent(
                amount: amount, currency: try p.currency(required: true) ?? "", paymentMethodTypes: p.strings("payment_method_types") ?? ["card"],
                paymentMethod: p.string("payment_method"), customer: p.string("customer"), description: p.string("description"),
                metadata: p.metadata() ?? [:], transferGroup: p.string("transfer_group"))
            let created = try await state.createPaymentIntent(new)
            guard p.bool("confirm") == true, case .string(let id)? = created["id"] else { return created }
            return try await state.confirmPaymentIntent(id, paymentMethod: nil)
        }
        api.get("/v1/payment_intents/{id}") { call in try await state.retrievePaymentIntent(call.id()) }
        api.post(
            "/v1/payment_intents/{id}",
            [
                "payment_method": .string, "customer": .string, "metadata": .metadata, "description": .string, "amount": .integer,
                "transfer_group": .string,
            ]
        ) { call in
            let p = call.parameters
            return try await state.updatePaymentIntent(
                call.id(), paymentMethod: p.string("payment_method"), customer: p.string("customer"), amount: try p.amount(), description: p.string("description"),
                metadata: p.metadata(), transferGroup: p.string("transfer_group"))
        }
        api.post("/v1/payment_intents/{id}/confirm", ["payment_method": .string, "return_url": .string]) { call in
            try await state.confirmPaymentIntent(call.id(), paymentMethod: call.parameters.string("payment_method"))
        }
        api.post(
            "/v1/payment_intents/{id}/cancel",
            ["cancellation_reason": .oneOf(["duplicate", "fraudulent", "requested_by_customer", "abandoned"])]
        ) { call in
            try await state.cancelPaymentIntent(call.id(), reason: call.parameters.string("cancellation_reason"))
        }
        api.get("/v1/charges/{id}") { call in try await state.retrieveCharge(call.id()) }

        api.post(
            "/v1/refunds",
            [
                "charge": .string, "payment_intent": .string, "amount": .integer, "metadata": .metadata,
                "reason": .oneOf(["duplicate", "fraudulent", "requested_by_customer"]),
            ]
        ) { call in
            let p = call.parameters
            try call.requirePlatform()
            return try await state.createRefund(
                charge: p.string("charge"), paymentIntent: p.string("payment_intent"), amount: try p.amount(), reason: p.string("reason"),
                metadata: p.metadata() ?? [:])
        }
        api.get("/v1/refunds/{id}") { call in try await state.retrieveRefund(call.id()) }

        api.post("/v1/customers", ["email": .string, "name": .string, "description": .string, "metadata": .metadata]) { call in
            let p = call.parameters
            try call.requirePlatform()
            return await state.createCustomer(
                email: p.string("email"), name: p.string("name"), description: p.string("description"), metadata: p.metadata() ?? [:])
        }
        api.get("/v1/customers/{id}") { call in try await state.retrieveCustomer(call.id()) }
        api.post(
            "/v1/customers/{id}",
            [
                "email": .string, "name": .string, "description": .string, "metadata": .metadata,
                "invoice_settings": .object(["default_payment_method": .string]),
            ]
        ) { call in
            let p = call.parameters
            return try await state.updateCustomer(
                call.id(), email: p.string("email"), name: p.string("name"), description: p.string("description"), metadata: p.metadata(),
                defaultPaymentMethod: p.string("invoice_settings", "default_payment_method"))
        }
    }
}
