import Foundation
import StripeClient

/// Connect calls ("separate charges and transfers"): sellers' connected accounts, transfers to
/// them after release, reversals, and payouts from their balance to their bank. Every POST
/// carries an idempotency key derived from our own record, so a retry can never pay twice.
protocol EscrowGateway: Sendable {
    func createAccount(sellerId: String, email: String?, idempotencyKey: String) async throws(StripeError) -> Account
    func onboardingLink(account: String, refreshURL: String, returnURL: String) async throws(StripeError) -> AccountLink

    /// A transfer of the seller's net, funded by the original charge. `metadata` names the
    /// command that made it, so it can be found again once the idempotency key has expired.
    func transfer(
        amount: Int64, currency: String, destination: String, sourceTransaction: String?, transferGroup: String,
        metadata: [String: String], idempotencyKey: String
    ) async throws(StripeError) -> Transfer
    func reverseTransfer(_ transfer: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws(StripeError) -> TransferReversal
    /// A payout on the connected account to its bank; settled later by `payout.paid` / `payout.failed`.
    func payout(account: String, amount: Int64, currency: String, metadata: [String: String], idempotencyKey: String) async throws(StripeError) -> Payout

    /// The transfer of a group whose metadata has `key` = `value`, if any (the look-up before a
    /// retry whose idempotency key may have expired).
    func findTransfer(group: String, metadata key: String, _ value: String) async throws(StripeError) -> Transfer?
    func findReversal(of transfer: String, metadata key: String, _ value: String) async throws(StripeError) -> TransferReversal?

    // What the gateway holds, for reconciliation.
    func retrieveTransfer(_ id: String) async throws(StripeError) -> Transfer
    func retrievePayout(_ id: String, account: String) async throws(StripeError) -> Payout
    func retrieveCharge(_ id: String) async throws(StripeError) -> Charge
}

struct StripeEscrowGateway: EscrowGateway {
    let client: StripeClient

    func createAccount(sellerId: String, email: String?, idempotencyKey: String) async throws(StripeError) -> Account {
        var fields: [(String, StripeFormValue)] = [
            ("controller[fees][payer]", .string("application")), ("controller[losses][payments]", .string("application")),
            ("controller[stripe_dashboard][type]", .string("express")), ("capabilities[transfers][requested]", .string("true")),
            ("metadata[seller_id]", .string(sellerId)),
        ]
        if let email { fields.append(("email", .string(email))) }
        return try await client.post("/v1/accounts", fields, idempotencyKey: idempotencyKey)
    }

    func onboardingLink(account: String, refreshURL: String, returnURL: String) async throws(StripeError) -> AccountLink {
        // A link is single-use and short-lived: each call asks for a fresh one.
        try await client.post(
            "/v1/account_links",
            [("account", .string(account)), ("refresh_url", .string(refreshURL)), ("return_url", .string(returnURL)),
             ("type", .string("account_onboarding"))],
            idempotencyKey: "account-link-\(account)-\(UUID().uuidString.lowercased())")
    }

    func transfer(
        amount: Int64, currency: String, destination: String, sourceTransaction: String?, transferGroup: String,
        metadata: [String: String], idempotencyKey: String
    ) async throws(StripeError) -> Transfer {
        var fields: [(String, StripeFormValue)] = [
            ("amount", .integer(amount)), ("currency", .string(currency)), ("destination", .string(destination)),
            ("transfer_group", .string(transferGroup)), ("metadata", .metadata(metadata)),
        ]
        if let sourceTransaction { fields.append(("source_transaction", .string(sourceTransaction))) }
        return try await client.post("/v1/transfers", fields, idempotencyKey: idempotencyKey)
    }

    func reverseTransfer(_ transfer: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws(StripeError) -> TransferReversal {
        try await client.post(
            "/v1/transfers/\(transfer)/reversals", [("amount", .integer(amount)), ("metadata", .metadata(metadata))],
            idempotencyKey: idempotencyKey)
    }

    func payout(account: String, amount: Int64, currency: String, metadata: [String: String], idempotencyKey: String) async throws(StripeError) -> Payout {
        try await client.post(
            "/v1/payouts", [("amount", .integer(amount)), ("currency", .string(currency)), ("metadata", .metadata(metadata))],
            idempotencyKey: idempotencyKey, account: account)
    }

    func findTransfer(group: String, metadata key: String, _ value: String) async throws(StripeError) -> Transfer? {
        let page: StripeList<Transfer> = try await client.get("/v1/transfers?transfer_group=\(StripeForm.escape(group))&limit=100")
        return page.data.first { $0.metadata[key] == value }
    }

    func findReversal(of transfer: String, metadata key: String, _ value: String) async throws(StripeError) -> TransferReversal? {
        let page: StripeList<TransferReversal> = try await client.get("/v1/transfers/\(transfer)/reversals?limit=100")
        return page.data.first { $0.metadata?[key] == value }
    }

    func retrieveTransfer(_ id: String) async throws(StripeError) -> Transfer { try await client.get("/v1/transfers/\(id)") }

    func retrievePayout(_ id: String, account: String) async throws(StripeError) -> Payout {
        try await client.get("/v1/payouts/\(id)", account: account)
    }

    func retrieveCharge(_ id: String) async throws(StripeError) -> Charge { try await client.get("/v1/charges/\(id)") }
}
