import Crypto
import EventContracts
import Foundation
import Logging
import PostgresNIO
import StripeClient

/// A local stand-in for Stripe Connect (no network), used without `STRIPE_SECRET_KEY`. Its
/// records live in `simulated_*` tables; idempotency keys behave as Stripe's (same key, same
/// object). Onboarding happens on a local page (`SimulatedOnboarding`) and payouts settle a
/// moment later: both are reported as signed webhooks to PaymentService, as Stripe would.
struct SimulatedEscrowGateway: EscrowGateway {
    let postgres: PostgresClient
    let logger: Logger
    let webhooks: SimulatedWebhookTarget
    let links: OnboardingLinkSigner
    /// This service's public address, for the onboarding page's links.
    let publicBaseURL: @Sendable () -> String
    /// How long a payout takes to settle.
    var settleDelay: Duration = .milliseconds(300)

    var mode: String { "simulated" }

    /// Requirements a new account has before onboarding (as Stripe reports them).
    static let initialRequirements = ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"]

    func createAccount(sellerId: String, email: String?, idempotencyKey: String) async throws(StripeError) -> Account {
        try await gatewayCall {
            try await postgres.query(
                """
                INSERT INTO simulated_accounts (id, seller_id, email, created)
                VALUES (\("acct_sim_" + SimulatedWebhooks.token().prefix(16)), \(sellerId), \(email), \(Self.now()))
                ON CONFLICT (seller_id) DO NOTHING
                """, logger: logger)
            return try await account(sellerId: sellerId)
        }
    }

    func onboardingLink(account: String, refreshURL: String, returnURL: String) async throws(StripeError) -> AccountLink {
        let created = Self.now()
        let expires = created + 300
        let url = "\(publicBaseURL())/simulated/connect/onboarding/\(account)?expires=\(expires)&signature=\(links.signature(account: account, expires: expires))"
        return try await gatewayCall {
            try (["object": "account_link", "url": .string(url), "created": .integer(created), "expires_at": .integer(expires)] as JSONValue)
                .decode(as: AccountLink.self)
        }
    }

    func transfer(
        amount: Int64, currency: String, destination: String, sourceTransaction: String?, transferGroup: String,
        metadata: [String: String], idempotencyKey: String
    ) async throws(StripeError) -> Transfer {
        try await gatewayCall {
            guard try await postgres.query("SELECT 1 FROM simulated_accounts WHERE id = \(destination)", logger: logger).collect().count == 1 else {
                throw StripeError(kind: .invalidRequest, httpStatus: 400, code: "resource_missing", message: "No such destination: '\(destination)'")
            }
            try await postgres.query(
                """
                INSERT INTO simulated_transfers (id, idempotency_key, amount, currency, destination, source_transaction, transfer_group)
                VALUES (\("tr_sim_" + SimulatedWebhooks.token()), \(idempotencyKey), \(amount), \(currency), \(destination),
                    \(sourceTransaction), \(transferGroup))
                ON CONFLICT (idempotency_key) DO NOTHING
                """, logger: logger)
            return try await transfer(idempotencyKey)
        }
    }

    func reverseTransfer(_ transfer: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws(StripeError) -> TransferReversal {
        try await gatewayCall {
            try await postgres.inTransaction(logger: logger) { connection in
                let existing = try await connection.query(
                    "SELECT id, amount, transfer_id FROM simulated_reversals WHERE idempotency_key = \(idempotencyKey)", logger: logger
                ).decode((String, Int64, String).self).all()
                let currency = try await connection.query(
                    "SELECT currency, amount - amount_reversed FROM simulated_transfers WHERE id = \(transfer) FOR UPDATE", logger: logger
                ).decode((String, Int64).self).all()
                guard let (currency, reversible) = currency.first else {
                    throw StripeError(kind: .invalidRequest, httpStatus: 404, code: "resource_missing", message: "No such transfer: '\(transfer)'")
                }
                if let (id, amount, transfer) = existing.first {
                    return try Self.reversal(id: id, amount: amount, currency: currency, transfer: transfer)
                }
                guard amount > 0 && amount <= reversible else {
                    throw StripeError(
                        kind: .invalidRequest, httpStatus: 400, code: "parameter_invalid_integer",
                        message: "Reversal amount \(amount) exceeds what is left of the transfer (\(reversible)).")
                }
                let id = "trr_sim_" + SimulatedWebhooks.token()
                try await connection.query(
                    "INSERT INTO simulated_reversals (id, idempotency_key, transfer_id, amount) VALUES (\(id), \(idempotencyKey), \(transfer), \(amount))",
                    logger: logger)
                try await connection.query(
                    "UPDATE simulated_transfers SET amount_reversed = amount_reversed + \(amount) WHERE id = \(transfer)", logger: logger)
                return try Self.reversal(id: id, amount: amount, currency: currency, transfer: transfer)
            }
        }
    }

    func payout(account: String, amount: Int64, currency: String, metadata: [String: String], idempotencyKey: String) async throws(StripeError) -> Payout {
        let (result, isNew): (Payout, Bool) = try await gatewayCall { () async throws -> (Payout, Bool) in
            let inserted = try await postgres.query(
                """
                INSERT INTO simulated_payouts (id, idempotency_key, account_id, amount, currency, status, created)
                SELECT \("po_sim_" + SimulatedWebhooks.token()), \(idempotencyKey), \(account), \(amount), \(currency), 'pending',
                    \(Self.now())
                WHERE EXISTS (SELECT 1 FROM simulated_accounts WHERE id = \(account))
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect()
            return (try await payout(idempotencyKey, account: account), !inserted.isEmpty)
        }
        if isNew {
            // The bank answers later: settle and report it as Stripe would, by webhook.
            Task { await settle(result.id, account: account) }
        }
        return result
    }

    /// Keys never expire here (a retry always finds its object by key), so there is never
    /// anything to look up by metadata, which these tables do not keep.
    func findTransfer(group: String, metadata key: String, _ value: String) async throws(StripeError) -> Transfer? { nil }
    func findReversal(of transfer: String, metadata key: String, _ value: String) async throws(StripeError) -> TransferReversal? { nil }

    func retrieveTransfer(_ id: String) async throws(StripeError) -> Transfer {
        try await gatewayCall { try await transfer(id) }
    }

    func retrievePayout(_ id: String, account: String) async throws(StripeError) -> Payout {
        try await gatewayCall { try await payout(id, account: account) }
    }

    /// Charges are PaymentService's (its own simulated gateway): not visible from here.
    func retrieveCharge(_ id: String) async throws(StripeError) -> Charge? { nil }

    /// Completes onboarding from the local page: the account can now be paid, and Stripe's
    /// `account.updated` goes to the webhook endpoint. `failingBank` gives it a bank account
    /// whose payouts fail (Stripe's test account 000111111116).
    func completeOnboarding(account: String, failingBank: Bool) async throws -> Bool {
        let rows = try await postgres.query(
            "UPDATE simulated_accounts SET onboarded = true, payouts_fail = \(failingBank) WHERE id = \(account) RETURNING 1",
            logger: logger
        ).collect()
        guard rows.count == 1 else { return false }
        let object: JSONValue = [
            "id": .string(account), "object": "account", "charges_enabled": true, "payouts_enabled": true,
            "details_submitted": true, "requirements": ["currently_due": [], "disabled_reason": .null],
        ]
        return await webhooks.send(SimulatedWebhooks.event(type: "account.updated", object: object, account: account), logger: logger)
    }

    private func settle(_ payout: String, account: String) async {
        try? await Task.sleep(for: settleDelay)
        do {
            let rows = try await postgres.query(
                """
                UPDATE simulated_payouts p SET status = CASE WHEN a.payouts_fail THEN 'failed' ELSE 'paid' END,
                    failure_code = CASE WHEN a.payouts_fail THEN 'account_closed' END
                FROM simulated_accounts a WHERE p.id = \(payout) AND a.id = p.account_id AND p.status = 'pending'
                RETURNING p.status
                """, logger: logger
            ).decode(String.self).all()
            guard let status = rows.first else { return }
            let object = try await self.payoutJSON(payout, account: account)
            await webhooks.send(SimulatedWebhooks.event(type: "payout.\(status)", object: object, account: account), logger: logger)
        } catch {
            logger.error("simulated payout not settled", metadata: ["payout": "\(payout)", "error": "\(error)"])
        }
    }

    private func account(sellerId: String) async throws -> Account {
        let rows = try await postgres.query(
            "SELECT id, onboarded FROM simulated_accounts WHERE seller_id = \(sellerId)", logger: logger
        ).decode((String, Bool).self).all()
        guard let (id, onboarded) = rows.first else { throw StripeError(kind: .api, message: "simulated account vanished") }
        let object: JSONValue = [
            "id": .string(id), "object": "account", "charges_enabled": .bool(onboarded), "payouts_enabled": .bool(onboarded),
            "details_submitted": .bool(onboarded),
            "requirements": [
                "currently_due": .array(onboarded ? [] : Self.initialRequirements.map(JSONValue.string)),
                "disabled_reason": onboarded ? .null : "requirements.past_due",
            ],
        ]
        return try object.decode(as: Account.self)
    }

    /// A transfer by id or by the idempotency key that created it.
    private func transfer(_ reference: String) async throws -> Transfer {
        let rows = try await postgres.query(
            """
            SELECT id, amount, amount_reversed, currency, destination, source_transaction, transfer_group
            FROM simulated_transfers WHERE id = \(reference) OR idempotency_key = \(reference)
            """, logger: logger
        ).decode((String, Int64, Int64, String, String, String?, String?).self).all()
        guard let row = rows.first else {
            throw StripeError(kind: .invalidRequest, httpStatus: 404, code: "resource_missing", message: "No such transfer: '\(reference)'")
        }
        let object: JSONValue = [
            "id": .string(row.0), "object": "transfer", "amount": .integer(row.1), "amount_reversed": .integer(row.2),
            "currency": .string(row.3), "destination": .string(row.4), "source_transaction": row.5.map(JSONValue.string) ?? .null,
            "transfer_group": row.6.map(JSONValue.string) ?? .null, "reversed": .bool(row.2 == row.1), "metadata": [:],
        ]
        return try object.decode(as: Transfer.self)
    }

    /// A payout on `account`, by id or by the idempotency key that created it.
    private func payout(_ reference: String, account: String) async throws -> Payout {
        try await payoutJSON(reference, account: account).decode(as: Payout.self)
    }

    private func payoutJSON(_ reference: String, account: String) async throws -> JSONValue {
        let rows = try await postgres.query(
            """
            SELECT id, amount, currency, status, failure_code, created FROM simulated_payouts
            WHERE account_id = \(account) AND (id = \(reference) OR idempotency_key = \(reference))
            """, logger: logger
        ).decode((String, Int64, String, String, String?, Int64).self).all()
        guard let row = rows.first else {
            throw StripeError(kind: .invalidRequest, httpStatus: 404, code: "resource_missing", message: "No such payout: '\(reference)'")
        }
        return [
            "id": .string(row.0), "object": "payout", "amount": .integer(row.1), "currency": .string(row.2), "status": .string(row.3),
            "failure_code": row.4.map(JSONValue.string) ?? .null,
            "failure_message": row.4 == nil ? .null : "The bank account has been closed.", "arrival_date": .integer(row.5 + 86_400),
        ]
    }

    private static func reversal(id: String, amount: Int64, currency: String, transfer: String) throws -> TransferReversal {
        try ([
            "id": .string(id), "object": "transfer_reversal", "amount": .integer(amount), "currency": .string(currency),
            "transfer": .string(transfer),
        ] as JSONValue).decode(as: TransferReversal.self)
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Database and decoding failures become a gateway error (the caller retries those).
    private func gatewayCall<Result>(_ body: () async throws -> Result) async throws(StripeError) -> Result {
        do {
            return try await body()
        } catch let error as StripeError {
            throw error
        } catch {
            throw StripeError(kind: .api, httpStatus: 500, message: "simulated gateway: \(error)")
        }
    }
}

/// Where the simulated gateway sends its webhooks: PaymentService's endpoint, the only
/// receiver of gateway events (`STRIPE_WEBHOOK_URL`), signed with `STRIPE_WEBHOOK_SECRET`.
struct SimulatedWebhookTarget: Sendable {
    var url: String?
    var secret: String

    @discardableResult
    func send(_ payload: [UInt8], logger: Logger) async -> Bool {
        guard let url else {
            logger.error("simulated webhook not sent: STRIPE_WEBHOOK_URL is not set")
            return false
        }
        return await SimulatedWebhooks.deliver(payload: payload, secret: secret, to: url, logger: logger)
    }
}

/// Signs onboarding links (HMAC-SHA256 of account and expiry) so only a link this service
/// issued, before it expires, opens the simulated onboarding page.
struct OnboardingLinkSigner: Sendable {
    let key: SymmetricKey

    init(secret: String) {
        key = SymmetricKey(data: SHA256.hash(data: Data("simulated-onboarding:\(secret)".utf8)))
    }

    func signature(account: String, expires: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(account).\(expires)".utf8), using: key)
        return Data(mac).map { String(format: "%02x", $0) }.joined()
    }

    func isValid(account: String, expires: Int64, signature: String, now: Date = Date()) -> Bool {
        guard Int64(now.timeIntervalSince1970) <= expires else { return false }
        let expected = Array(self.signature(account: account, expires: expires).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
