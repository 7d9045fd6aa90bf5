import EventContracts

/// A PaymentIntent on the platform account.
struct PaymentIntentRecord: Sendable {
    var id: String
    var amount: Int64
    var currency: String
    var status: String
    var clientSecret: String
    var paymentMethodTypes: [String]
    var paymentMethod: String?
    var customer: String?
    var description: String?
    var metadata: [String: String]
    var transferGroup: String?
    var latestCharge: String?
    var lastPaymentError: JSONValue?
    var cancellationReason: String?
    var canceledAt: Int64?
    var created: Int64

    var json: JSONValue {
        [
            "id": .string(id), "object": "payment_intent", "amount": .integer(amount),
            "amount_capturable": 0, "amount_received": .integer(status == "succeeded" ? amount : 0),
            "canceled_at": canceledAt.json, "cancellation_reason": cancellationReason.json,
            "capture_method": "automatic", "client_secret": .string(clientSecret), "confirmation_method": "automatic",
            "created": .integer(created), "currency": .string(currency), "customer": customer.json, "description": description.json,
            "last_payment_error": lastPaymentError ?? .null, "latest_charge": latestCharge.json, "livemode": false,
            "metadata": metadata.json, "next_action": nil, "payment_method": paymentMethod.json,
            "payment_method_types": paymentMethodTypes.json, "status": .string(status), "transfer_group": transferGroup.json,
        ]
    }
}

/// A charge made by confirming an intent (succeeded or failed).
struct ChargeRecord: Sendable {
    var id: String
    var amount: Int64
    var amountRefunded: Int64 = 0
    var currency: String
    var status: String
    var paymentIntent: String
    var paymentMethod: String
    var customer: String?
    var transferGroup: String?
    var metadata: [String: String]
    var failureCode: String?
    var failureMessage: String?
    var disputed = false
    var created: Int64

    var paid: Bool { status == "succeeded" }

    var json: JSONValue {
        [
            "id": .string(id), "object": "charge", "amount": .integer(amount), "amount_captured": .integer(paid ? amount : 0),
            "amount_refunded": .integer(amountRefunded), "balance_transaction": paid ? .string("txn_\(id.dropFirst(3))") : .null,
            "captured": .bool(paid), "created": .integer(created), "currency": .string(currency), "customer": customer.json,
            "disputed": .bool(disputed), "failure_code": failureCode.json, "failure_message": failureMessage.json, "livemode": false,
            "metadata": metadata.json,
            "outcome": [
                "type": paid ? "authorized" : "issuer_declined", "network_status": paid ? "approved_by_network" : "declined_by_network",
                "seller_message": paid ? "Payment complete." : "The bank did not return any further details with this decline.",
            ],
            "paid": .bool(paid), "payment_intent": .string(paymentIntent), "payment_method": .string(paymentMethod),
            "refunded": .bool(paid && amountRefunded == amount), "status": .string(status), "transfer_group": transferGroup.json,
        ]
    }
}

struct RefundRecord: Sendable {
    var id: String
    var amount: Int64
    var currency: String
    var charge: String
    var paymentIntent: String
    var status: String
    var reason: String?
    var failureReason: String?
    var metadata: [String: String]
    var created: Int64

    /// Money a refund takes from the charge: all but a failed or canceled one.
    var counts: Bool { status != "failed" && status != "canceled" }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "refund", "amount": .integer(amount), "balance_transaction": .string("txn_\(id.dropFirst(3))"),
            "charge": .string(charge), "created": .integer(created), "currency": .string(currency), "metadata": metadata.json,
            "payment_intent": .string(paymentIntent), "reason": reason.json, "receipt_number": nil, "status": .string(status),
        ]
        if let failureReason { object["failure_reason"] = .string(failureReason) }
        return .object(object)
    }
}

struct CustomerRecord: Sendable {
    var id: String
    var email: String?
    var name: String?
    var description: String?
    var metadata: [String: String]
    /// `invoice_settings.default_payment_method`: the card to charge when none is named.
    var defaultPaymentMethod: String?
    var created: Int64

    var json: JSONValue {
        [
            "id": .string(id), "object": "customer", "created": .integer(created), "description": description.json,
            "email": email.json, "livemode": false, "metadata": metadata.json, "name": name.json,
            "invoice_settings": [
                "custom_fields": nil, "default_payment_method": defaultPaymentMethod.json, "footer": nil,
                "rendering_options": nil,
            ],
        ]
    }
}

/// A card dispute (chargeback), opened and closed through the control API.
struct DisputeRecord: Sendable {
    var id: String
    var amount: Int64
    var currency: String
    var charge: String
    var paymentIntent: String
    var reason: String
    var status: String
    var created: Int64

    /// Still undecided: the money is withdrawn but may come back.
    var isOpen: Bool { status != "won" && status != "lost" }

    var json: JSONValue {
        [
            "id": .string(id), "object": "dispute", "amount": .integer(amount), "balance_transactions": [],
            "charge": .string(charge), "created": .integer(created), "currency": .string(currency),
            "evidence_details": ["due_by": .integer(created + 7 * 86_400), "has_evidence": false, "past_due": false, "submission_count": 0],
            "is_charge_refundable": false, "livemode": false, "metadata": [:], "payment_intent": .string(paymentIntent),
            "reason": .string(reason), "status": .string(status),
        ]
    }
}
