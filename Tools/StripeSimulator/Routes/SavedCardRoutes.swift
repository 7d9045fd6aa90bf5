/// `/v1/setup_intents` and `/v1/payment_methods`: cards saved for customers.
struct SavedCardRoutes: Sendable {
    let state: SimulatorState

    func register(on api: StripeAPI) {
        api.post(
            "/v1/setup_intents",
            [
                "customer": .string, "payment_method": .string, "payment_method_types": .list(.string), "confirm": .boolean,
                "usage": .oneOf(["on_session", "off_session"]), "description": .string, "metadata": .metadata,
            ]
        ) { call in
            let p = call.parameters
            try call.requirePlatform()
            let created = try await state.createSetupIntent(
                .init(
                    customer: p.string("customer"), paymentMethod: p.string("payment_method"),
                    paymentMethodTypes: p.strings("payment_method_types") ?? ["card"], usage: p.string("usage") ?? "off_session",
                    description: p.string("description"), metadata: p.metadata() ?? [:]))
            guard p.bool("confirm") == true, case .string(let id)? = created["id"] else { return created }
            return try await state.confirmSetupIntent(id, paymentMethod: nil)
        }
        api.get("/v1/setup_intents/{id}") { call in try await state.retrieveSetupIntent(call.id()) }
        api.post("/v1/setup_intents/{id}/confirm", ["payment_method": .string, "return_url": .string]) { call in
            try await state.confirmSetupIntent(call.id(), paymentMethod: call.parameters.string("payment_method"))
        }

        api.get("/v1/payment_methods", ListPage.schema.merging(["customer": .string, "type": .string]) { own, _ in own }) { call in
            let p = call.parameters
            return try await state.listPaymentMethods(customer: try p.requireString("customer"), type: p.string("type"), page: try ListPage(p))
        }
        api.get("/v1/payment_methods/{id}") { call in try await state.retrievePaymentMethod(call.id()) }
        api.post("/v1/payment_methods/{id}/attach", ["customer": .string]) { call in
            try call.requirePlatform()
            return try await state.attachPaymentMethod(call.id(), customer: try call.parameters.requireString("customer"))
        }
        api.post("/v1/payment_methods/{id}/detach", [:]) { call in try await state.detachPaymentMethod(call.id()) }
    }
}
