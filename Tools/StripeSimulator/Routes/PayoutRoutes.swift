/// `/v1/payouts` on connected accounts and `/v1/balance`.
struct PayoutRoutes: Sendable {
    let state: SimulatorState

    func register(on api: StripeAPI) {
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
}
