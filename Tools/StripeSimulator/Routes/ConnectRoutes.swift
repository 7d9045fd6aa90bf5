import EventContracts

/// `/v1/accounts`, `/v1/account_links`, `/v1/transfers` (with reversals), `/v1/payouts` and `/v1/balance`.
struct ConnectRoutes: Sendable {
    let state: SimulatorState

    static let controllerSchema = ParameterSchema.object([
        "fees": .object(["payer": .oneOf(["account", "application", "application_custom", "application_express"])]),
        "losses": .object(["payments": .oneOf(["application", "stripe"])]),
        "requirement_collection": .oneOf(["application", "stripe"]),
        "stripe_dashboard": .object(["type": .oneOf(["express", "full", "none"])]),
    ])

    func register(on api: StripeAPI) {
        api.post(
            "/v1/accounts",
            [
                "type": .oneOf(["standard", "express", "custom"]), "country": .string, "email": .string, "metadata": .metadata,
                "business_type": .oneOf(["individual", "company", "non_profit", "government_entity"]), "default_currency": .string,
                "controller": Self.controllerSchema, "capabilities": .dictionary(.object(["requested": .boolean])),
            ]
        ) { call in
            let p = call.parameters
            try PaymentRoutes.platformOnly(call)
            let requested = p.value("capabilities")?.entries?.compactMap { entry in
                p.bool("capabilities", entry.key, "requested") == true ? entry.key : nil
            } ?? []
            return await state.createAccount(
                type: p.string("type") ?? Self.type(dashboard: p.string("controller", "stripe_dashboard", "type")), email: p.string("email"),
                country: p.string("country"), metadata: p.metadata() ?? [:], controller: p.value("controller").map(Self.json),
                capabilities: requested)
        }
        api.get("/v1/accounts/{id}") { call in try await state.retrieveAccount(call.id()) }
        api.post(
            "/v1/account_links",
            ["account": .string, "refresh_url": .string, "return_url": .string, "type": .oneOf(["account_onboarding", "account_update"])]
        ) { call in
            let p = call.parameters
            _ = try p.requireString("type")
            return try await state.createAccountLink(
                account: try p.requireString("account"), refreshURL: try p.requireString("refresh_url"),
                returnURL: try p.requireString("return_url"))
        }

        api.post(
            "/v1/transfers",
            [
                "amount": .integer, "currency": .string, "destination": .string, "source_transaction": .string,
                "transfer_group": .string, "description": .string, "metadata": .metadata,
            ]
        ) { call in
            let p = call.parameters
            try PaymentRoutes.platformOnly(call)
            guard let amount = try p.amount() else { throw StripeAPIError.missingParameter("amount") }
            return try await state.createTransfer(
                .init(
                    amount: amount, currency: try p.currency(required: true) ?? "", destination: try p.requireString("destination"),
                    sourceTransaction: p.string("source_transaction"), transferGroup: p.string("transfer_group"),
                    description: p.string("description"), metadata: p.metadata() ?? [:]))
        }
        api.get("/v1/transfers", ListPage.schema.merging(["transfer_group": .string, "destination": .string]) { own, _ in own }) { call in
            try await state.listTransfers(
                transferGroup: call.parameters.string("transfer_group"), destination: call.parameters.string("destination"),
                page: try ListPage(call.parameters))
        }
        api.get("/v1/transfers/{id}") { call in try await state.retrieveTransfer(call.id()) }
        api.post("/v1/transfers/{id}/reversals", ["amount": .integer, "description": .string, "metadata": .metadata]) { call in
            let p = call.parameters
            return try await state.reverseTransfer(
                call.id(), amount: try p.amount(), description: p.string("description"), metadata: p.metadata() ?? [:])
        }
        api.get("/v1/transfers/{id}/reversals", ListPage.schema) { call in
            try await state.listReversals(of: call.id(), page: try ListPage(call.parameters))
        }
        api.get("/v1/transfers/{id}/reversals/{reversal}") { call in
            try await state.retrieveReversal(call.id("reversal"), of: call.id())
        }

        api.post(
            "/v1/payouts",
            [
                "amount": .integer, "currency": .string, "description": .string, "metadata": .metadata, "method": .oneOf(["standard"]),
                "statement_descriptor": .string,
            ]
        ) { call in
            let p = call.parameters
            let account = try Self.connectedAccount(call)
            guard let amount = try p.amount() else { throw StripeAPIError.missingParameter("amount") }
            return try await state.createPayout(
                account: account, amount: amount, currency: try p.currency(required: true) ?? "", description: p.string("description"),
                metadata: p.metadata() ?? [:])
        }
        api.get("/v1/payouts/{id}") { call in try await state.retrievePayout(call.id(), account: try Self.connectedAccount(call)) }

        api.get("/v1/balance") { call in try await state.balance(account: call.account) }
    }

    /// Payouts are simulated on connected accounts, named by `Stripe-Account`.
    private static func connectedAccount(_ call: APICall) throws(StripeAPIError) -> String {
        guard let account = call.account else {
            var error = StripeAPIError.invalidRequest(
                "The simulator makes payouts on connected accounts only: send the account in the Stripe-Account header.")
            error.beforeExecution = true
            throw error
        }
        return account
    }

    /// Stripe's account type for controller properties (`type` left out).
    private static func type(dashboard: String?) -> String {
        switch dashboard {
        case "express": "express"
        case "full": "standard"
        case "none": "custom"
        default: "standard"
        }
    }

    /// Form values as JSON (`controller` is echoed back as sent).
    private static func json(_ value: FormValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .list(let values): .array(values.map(json))
        case .map(let entries): .object(Dictionary(entries.map { ($0.key, json($0.value)) }) { _, last in last })
        }
    }
}
