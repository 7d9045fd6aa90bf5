import EventContracts
import Foundation
import NIOHTTP1
import StripeClient
import TestSupport
import Testing

/// Objects most tests start from, made the way the services make them.
extension SimulatorHarness {
    /// A succeeded PaymentIntent on the platform, in `group`, and its charge id.
    func paidCharge(amount: Int64, group: String, paymentMethod: String = "pm_card_visa") async throws -> (PaymentIntent, String) {
        let client = client()
        let key = UUID().uuidString
        let intent: PaymentIntent = try await client.post(
            "/v1/payment_intents",
            [("amount", .integer(amount)), ("currency", "usd"), ("payment_method_types", .array(["card"])),
             ("metadata", .metadata(["checkout_id": group])), ("transfer_group", .string(group))],
            idempotencyKey: "intent-\(key)")
        let confirmed: PaymentIntent = try await client.post(
            "/v1/payment_intents/\(intent.id)/confirm", [("payment_method", .string(paymentMethod))], idempotencyKey: "confirm-\(key)")
        guard let charge = confirmed.chargeId else { throw SimulatorHarnessError("intent \(intent.id) has no charge") }
        return (confirmed, charge)
    }

    /// A connected account created as EscrowService creates them; onboarded unless told otherwise.
    func connectedAccount(onboarded: Bool = true, failingBank: Bool = false) async throws -> Account {
        let account: Account = try await client().post(
            "/v1/accounts",
            [("controller[fees][payer]", "application"), ("controller[losses][payments]", "application"),
             ("controller[stripe_dashboard][type]", "express"), ("capabilities[transfers][requested]", "true"),
             ("metadata[seller_id]", .string(UUID().uuidString)), ("email", "seller@example.test")],
            idempotencyKey: "account-\(UUID().uuidString)")
        if onboarded { try await control(.POST, "/_sim/accounts/\(account.id)/onboard", ["failingBank": JSONValue.bool(failingBank)]) }
        return account
    }

    /// A transfer of `amount` from `charge` to `destination`.
    func transfer(_ amount: Int64, from charge: String, to destination: String, group: String) async throws -> Transfer {
        try await client().post(
            "/v1/transfers",
            [("amount", .integer(amount)), ("currency", "usd"), ("destination", .string(destination)),
             ("source_transaction", .string(charge)), ("transfer_group", .string(group))],
            idempotencyKey: "transfer-\(UUID().uuidString)")
    }
}

/// The `StripeError` a call throws, or nil when it succeeds (any other error fails the test).
func stripeError<Value>(_ call: () async throws -> Value, sourceLocation: SourceLocation = #_sourceLocation) async -> StripeError? {
    do {
        _ = try await call()
        return nil
    } catch let error as StripeError {
        return error
    } catch {
        Issue.record(error, "expected a StripeError", sourceLocation: sourceLocation)
        return nil
    }
}
