import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import StripeClient

/// A local stand-in for Stripe (no network): intents live in `simulated_intents`, outcomes
/// follow Stripe's test payment methods, and each outcome is delivered as a signed webhook
/// event through `deliver`, i.e. the same verification, storage and processing as Stripe's.
struct SimulatedGateway: PaymentGateway {
    let postgres: PostgresClient
    let logger: Logger
    /// Signs and posts a webhook payload (to this service's own endpoint).
    let deliver: @Sendable (_ payload: [UInt8]) async -> Void

    var mode: String { "simulated" }

    /// Stripe's test payment methods: succeeds, or the decline code it produces.
    static func outcome(of paymentMethod: String) -> Result<Void, StripeError>? {
        func decline(_ code: String, _ message: String) -> Result<Void, StripeError> {
            .failure(StripeError(kind: .cardDeclined, httpStatus: 402, code: "card_declined", declineCode: code, message: message))
        }
        switch paymentMethod {
        case "pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit", "pm_card_us": return .success(())
        case "pm_card_chargeDeclined", "pm_card_visa_chargeDeclined": return decline("generic_decline", "Your card was declined.")
        case "pm_card_chargeDeclinedInsufficientFunds", "pm_card_visa_chargeDeclinedInsufficientFunds":
            return decline("insufficient_funds", "Your card has insufficient funds.")
        case "pm_card_chargeDeclinedExpiredCard", "pm_card_visa_chargeDeclinedExpiredCard":
            return decline("expired_card", "Your card has expired.")
        case "pm_card_chargeDeclinedIncorrectCvc", "pm_card_visa_chargeDeclinedIncorrectCvc":
            return decline("incorrect_cvc", "Your card's security code is incorrect.")
        default: return nil
        }
    }

    func createIntent(_ request: IntentRequest) async throws(StripeError) -> PaymentIntent {
        do {
            let id = "pi_sim_\(SimulatedWebhooks.token())"
            let metadata = String(decoding: try JSONEncoder().encode(request.metadata), as: UTF8.self)
            try await postgres.query(
                """
                INSERT INTO simulated_intents (id, amount, currency, status, client_secret, metadata, idempotency_key, created)
                VALUES (\(id), \(request.amount), \(request.currency), 'requires_payment_method',
                    \("\(id)_secret_\(SimulatedWebhooks.token())"), \(metadata)::jsonb, \(request.idempotencyKey), \(Int64(Date().timeIntervalSince1970)))
                ON CONFLICT (idempotency_key) DO NOTHING
                """, logger: logger)
            return try await load(idempotencyKey: request.idempotencyKey)
        } catch let error as StripeError {
            throw error
        } catch {
            throw StripeError(kind: .api, httpStatus: 500, message: "simulated gateway: \(error)")
        }
    }

    func confirmIntent(id: String, paymentMethod: String, idempotencyKey: String) async throws(StripeError) -> PaymentIntent {
        guard let outcome = Self.outcome(of: paymentMethod) else {
            throw StripeError(kind: .invalidRequest, httpStatus: 400, code: "resource_missing", message: "No such PaymentMethod: '\(paymentMethod)'")
        }
        let intent: PaymentIntent
        let event: (type: String, object: JSONValue)?
        do {
            (intent, event) = try await postgres.inTransaction(logger: logger) { connection in
                let current = try await lock(id, on: connection)
                guard current.status != "succeeded" else { return (current, nil) }
                switch outcome {
                case .success:
                    let charge = "ch_sim_\(SimulatedWebhooks.token())"
                    try await connection.query(
                        "UPDATE simulated_intents SET status = 'succeeded', charge_id = \(charge) WHERE id = \(id)", logger: logger)
                    let updated = try await lock(id, on: connection)
                    return (updated, ("payment_intent.succeeded", try Self.json(updated, error: nil)))
                case .failure(let decline):
                    try await connection.query(
                        "UPDATE simulated_intents SET status = 'requires_payment_method' WHERE id = \(id)", logger: logger)
                    return (current, ("payment_intent.payment_failed", try Self.json(current, error: decline)))
                }
            }
        } catch let error as StripeError {
            throw error
        } catch {
            throw StripeError(kind: .api, httpStatus: 500, message: "simulated gateway: \(error)")
        }
        if let event {
            let payload = SimulatedWebhooks.event(type: event.type, object: event.object)
            await deliver(payload)
        }
        if case .failure(let decline) = outcome, intent.status != "succeeded" { throw decline }
        return intent
    }

    /// Refunds always succeed here; the id is derived from the idempotency key, as a retry
    /// with the same key gets the same refund from Stripe.
    func refund(chargeId: String, amount: Int64, currency: String, reason: String, idempotencyKey: String) async throws(StripeError) -> Refund {
        guard chargeId.hasPrefix("ch_sim_") else {
            throw StripeError(kind: .invalidRequest, httpStatus: 404, code: "resource_missing", message: "No such charge: '\(chargeId)'")
        }
        let object: JSONValue = [
            "id": .string("re_sim_\(idempotencyKey.suffix(24))"), "object": "refund", "amount": .integer(amount), "currency": .string(currency),
            "status": "succeeded", "charge": .string(chargeId), "metadata": ["reason": .string(reason)],
        ]
        do {
            return try object.decode(as: Refund.self)
        } catch {
            throw StripeError(kind: .api, message: "simulated gateway: \(error)")
        }
    }

    private func lock(_ id: String, on connection: PostgresConnection) async throws -> PaymentIntent {
        let rows = try await connection.query(
            "SELECT id, amount, currency, status, client_secret, metadata::text, charge_id, created FROM simulated_intents WHERE id = \(id) FOR UPDATE",
            logger: logger
        ).decode((String, Int64, String, String, String, String, String?, Int64).self).all()
        guard let row = rows.first else {
            throw StripeError(kind: .invalidRequest, httpStatus: 404, code: "resource_missing", message: "No such payment_intent: '\(id)'")
        }
        return try Self.intent(row)
    }

    private func load(idempotencyKey: String) async throws -> PaymentIntent {
        let rows = try await postgres.query(
            "SELECT id, amount, currency, status, client_secret, metadata::text, charge_id, created FROM simulated_intents WHERE idempotency_key = \(idempotencyKey)",
            logger: logger
        ).decode((String, Int64, String, String, String, String, String?, Int64).self).all()
        return try Self.intent(rows[0])
    }

    private static func intent(_ row: (String, Int64, String, String, String, String, String?, Int64)) throws -> PaymentIntent {
        let metadata = try JSONDecoder().decode([String: String].self, from: Data(row.5.utf8))
        let object: JSONValue = [
            "id": .string(row.0), "object": "payment_intent", "amount": .integer(row.1), "currency": .string(row.2),
            "status": .string(row.3), "client_secret": .string(row.4), "metadata": .object(metadata.mapValues(JSONValue.string)),
            "latest_charge": row.6.map(JSONValue.string) ?? .null, "created": .integer(row.7),
        ]
        return try object.decode(as: PaymentIntent.self)
    }

    private static func json(_ intent: PaymentIntent, error: StripeError?) throws -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(intent.id), "object": "payment_intent", "amount": .integer(intent.amount),
            "currency": .string(intent.currency), "status": .string(intent.status),
            "metadata": .object(intent.metadata.mapValues(JSONValue.string)), "created": .integer(intent.created),
            "latest_charge": intent.latest_charge.map { .string($0.id) } ?? .null,
        ]
        if let error {
            object["status"] = "requires_payment_method"
            object["last_payment_error"] = [
                "code": .string(error.code ?? "card_declined"), "decline_code": error.declineCode.map(JSONValue.string) ?? .null,
                "message": .string(error.message),
            ]
        }
        return .object(object)
    }

}
