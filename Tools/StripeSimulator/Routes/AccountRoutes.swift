import EventContracts

/// `/v1/accounts` and `/v1/account_links`: connected accounts and their onboarding links.
struct AccountRoutes: Sendable {
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
            try call.requirePlatform()
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
