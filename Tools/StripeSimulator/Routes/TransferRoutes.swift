/// `/v1/transfers` and their reversals: the platform paying connected accounts.
struct TransferRoutes: Sendable {
    let state: SimulatorState

    func register(on api: StripeAPI) {
        api.post(
            "/v1/transfers",
            [
                "amount": .integer, "currency": .string, "destination": .string, "source_transaction": .string,
                "transfer_group": .string, "description": .string, "metadata": .metadata,
            ]
        ) { call in
            let p = call.parameters
            try call.requirePlatform()
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
    }
}
