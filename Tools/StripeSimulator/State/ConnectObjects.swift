import EventContracts

/// A connected account: not onboarded until its onboarding page (or `/_sim/accounts/{id}/onboard`)
/// completes; `failingBank` is Stripe's test bank account 000111111116, whose payouts fail.
struct AccountRecord: Sendable {
    /// What Stripe asks of a new account before it can be paid.
    static let initialRequirements = ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"]
    /// What a restricted account is asked for again.
    static let restrictionRequirements = ["individual.verification.document"]

    var id: String
    var type: String
    var email: String?
    var country: String
    var metadata: [String: String]
    var controller: JSONValue?
    var requestedCapabilities: [String]
    var created: Int64
    var onboarded = false
    var failingBank = false
    var restricted = false

    var chargesEnabled: Bool { onboarded }
    var payoutsEnabled: Bool { onboarded && !restricted }
    /// Whether transfers may be sent to it.
    var transfersActive: Bool { onboarded }

    var currentlyDue: [String] {
        if !onboarded { return Self.initialRequirements }
        return restricted ? Self.restrictionRequirements : []
    }

    var json: JSONValue {
        var capabilities: [String: JSONValue] = [:]
        for capability in requestedCapabilities { capabilities[capability] = onboarded ? "active" : "inactive" }
        let due = currentlyDue
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "account", "type": .string(type), "email": email.json, "country": .string(country),
            "default_currency": "usd", "created": .integer(created), "livemode": false, "metadata": metadata.json,
            "charges_enabled": .bool(chargesEnabled), "payouts_enabled": .bool(payoutsEnabled), "details_submitted": .bool(onboarded),
            "capabilities": .object(capabilities),
            "requirements": [
                "currently_due": due.json, "eventually_due": due.json, "past_due": due.json, "pending_verification": [],
                "errors": [], "disabled_reason": due.isEmpty ? nil : "requirements.past_due",
            ],
            "external_accounts": stripeList(onboarded ? [bankAccount] : [], hasMore: false, url: "/v1/accounts/\(id)/external_accounts"),
        ]
        if let controller { object["controller"] = controller }
        return .object(object)
    }

    private var bankAccount: JSONValue {
        [
            "id": .string("ba_\(id.dropFirst(5))"), "object": "bank_account", "account": .string(id), "country": "US",
            "currency": "usd", "last4": failingBank ? "1116" : "6789", "routing_number": "110000000", "status": "new",
        ]
    }
}

/// A single-use link to the simulator's onboarding page.
struct AccountLinkRecord: Sendable {
    var token: String
    var account: String
    var refreshURL: String
    var returnURL: String
    var url: String
    var created: Int64
    var expiresAt: Int64
    var used = false

    var json: JSONValue {
        ["object": "account_link", "created": .integer(created), "expires_at": .integer(expiresAt), "url": .string(url)]
    }
}

struct TransferRecord: Sendable {
    var id: String
    var amount: Int64
    var amountReversed: Int64 = 0
    var currency: String
    var destination: String
    var sourceTransaction: String?
    var transferGroup: String?
    var description: String?
    var metadata: [String: String]
    var created: Int64

    /// What the destination keeps of it.
    var net: Int64 { amount - amountReversed }

    func json(reversals: [ReversalRecord]) -> JSONValue {
        [
            "id": .string(id), "object": "transfer", "amount": .integer(amount), "amount_reversed": .integer(amountReversed),
            "balance_transaction": .string("txn_\(id.dropFirst(3))"), "created": .integer(created), "currency": .string(currency),
            "description": description.json, "destination": .string(destination), "destination_payment": .string("py_\(id.dropFirst(3))"),
            "livemode": false, "metadata": metadata.json,
            "reversals": stripeList(reversals.reversed().map(\.json), hasMore: false, url: "/v1/transfers/\(id)/reversals"),
            "reversed": .bool(amountReversed == amount), "source_transaction": sourceTransaction.json, "source_type": "card",
            "transfer_group": transferGroup.json,
        ]
    }
}

struct ReversalRecord: Sendable {
    var id: String
    var amount: Int64
    var currency: String
    var transfer: String
    var metadata: [String: String]
    var created: Int64

    var json: JSONValue {
        [
            "id": .string(id), "object": "transfer_reversal", "amount": .integer(amount),
            "balance_transaction": .string("txn_\(id.dropFirst(4))"), "created": .integer(created), "currency": .string(currency),
            "destination_payment_refund": .string("pyr_\(id.dropFirst(4))"), "metadata": metadata.json, "source_refund": nil,
            "transfer": .string(transfer),
        ]
    }
}

/// A payout from a connected account's balance to its bank.
struct PayoutRecord: Sendable {
    var id: String
    var account: String
    var amount: Int64
    var currency: String
    var status: String
    var failureCode: String?
    var description: String?
    var metadata: [String: String]
    var created: Int64

    /// Money the payout takes from the balance: all but a failed or canceled one.
    var counts: Bool { status != "failed" && status != "canceled" }

    static func failureMessage(_ code: String) -> String {
        switch code {
        case "account_closed": "The bank account has been closed."
        case "no_account": "The bank account details on file are probably incorrect. No bank account could be located with those details."
        case "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout."
        default: "The bank could not process this payout."
        }
    }

    var json: JSONValue {
        [
            "id": .string(id), "object": "payout", "amount": .integer(amount), "arrival_date": .integer(created + 86_400),
            "automatic": false, "balance_transaction": .string("txn_\(id.dropFirst(3))"), "created": .integer(created),
            "currency": .string(currency), "description": description.json, "destination": .string("ba_\(account.dropFirst(5))"),
            "failure_code": failureCode.json, "failure_message": failureCode.map { .string(Self.failureMessage($0)) } ?? .null,
            "livemode": false, "metadata": metadata.json, "method": "standard", "source_type": "card", "statement_descriptor": nil,
            "status": .string(status), "type": "bank_account",
        ]
    }
}
