import EventContracts
import Foundation

/// An id Stripe may send either as a string or, when expanded, as the object itself.
public struct ExpandableID: Decodable, Sendable, Equatable {
    public var id: String

    public init(_ id: String) { self.id = id }

    public init(from decoder: any Decoder) throws {
        if let id = try? decoder.singleValueContainer().decode(String.self) {
            self.id = id
        } else {
            struct Object: Decodable { var id: String }
            self.id = try Object(from: decoder).id
        }
    }
}

/// The fields of Stripe objects the project uses; every decoder is checked against Stripe's
/// own example objects (`shared/stripe/fixtures3.json`). Keys are Stripe's snake_case.
public struct PaymentIntent: Decodable, Sendable, Equatable {
    public var id: String
    public var amount: Int64
    public var currency: String
    public var status: String
    public var client_secret: String?
    public var latest_charge: ExpandableID?
    public var payment_method: ExpandableID?
    public var transfer_group: String?
    public var metadata: [String: String]
    public var last_payment_error: LastPaymentError?
    public var created: Int64
    /// Older API versions (and localstripe) list charges here instead of `latest_charge`.
    public var charges: ChargeList?

    public struct ChargeList: Decodable, Sendable, Equatable {
        public var data: [ExpandableID]
    }

    /// The charge that paid this intent, whichever way the API version reports it.
    public var chargeId: String? { latest_charge?.id ?? charges?.data.last?.id }

    public struct LastPaymentError: Decodable, Sendable, Equatable {
        public var code: String?
        public var decline_code: String?
        public var message: String?
    }
}

public struct Charge: Decodable, Sendable, Equatable {
    public var id: String
    public var amount: Int64
    public var amount_refunded: Int64
    public var currency: String
    public var status: String
    public var paid: Bool
    public var refunded: Bool
    public var disputed: Bool
    public var payment_intent: ExpandableID?
    public var transfer_group: String?
    public var failure_code: String?
    public var metadata: [String: String]
}

public struct Refund: Decodable, Sendable, Equatable {
    public var id: String
    public var amount: Int64
    public var currency: String
    public var status: String?
    public var charge: ExpandableID?
    public var payment_intent: ExpandableID?
    public var reason: String?
    public var metadata: [String: String]
}

public struct Dispute: Decodable, Sendable, Equatable {
    public var id: String
    public var amount: Int64
    public var currency: String
    public var status: String
    public var reason: String
    public var charge: ExpandableID
    public var payment_intent: ExpandableID?
}

public struct Account: Decodable, Sendable, Equatable {
    public struct Requirements: Decodable, Sendable, Equatable {
        public var currently_due: [String]?
        public var disabled_reason: String?
    }

    public var id: String
    public var charges_enabled: Bool?
    public var payouts_enabled: Bool?
    public var details_submitted: Bool?
    public var requirements: Requirements?
}

public struct AccountLink: Decodable, Sendable, Equatable {
    public var url: String
    public var created: Int64
    public var expires_at: Int64
}

public struct Transfer: Decodable, Sendable, Equatable {
    public var id: String
    public var amount: Int64
    public var amount_reversed: Int64
    public var currency: String
    public var destination: ExpandableID?
    public var source_transaction: ExpandableID?
    public var transfer_group: String?
    public var reversed: Bool
    public var metadata: [String: String]
}

public struct TransferReversal: Decodable, Sendable, Equatable {
    public var id: String
    public var amount: Int64
    public var currency: String
    public var transfer: ExpandableID
    public var metadata: [String: String]?
}

/// One page of a Stripe list (`GET /v1/transfers?…`).
public struct StripeList<Object: Decodable & Sendable>: Decodable, Sendable {
    public var data: [Object]
    public var has_more: Bool
}

public struct Payout: Decodable, Sendable, Equatable {
    public var id: String
    public var amount: Int64
    public var currency: String
    public var status: String
    public var failure_code: String?
    public var failure_message: String?
    public var arrival_date: Int64
}

/// A webhook event; `data.object` is kept as JSON and decoded by type.
public struct StripeEvent: Decodable, Sendable, Equatable {
    public struct Data: Decodable, Sendable, Equatable {
        public var object: JSONValue
    }

    public var id: String
    public var type: String
    public var created: Int64
    public var livemode: Bool
    public var api_version: String?
    public var account: String?
    public var data: Data

    /// The event's object as a typed Stripe object, read from the JSON tree directly
    /// (`JSONValue.decode`) rather than written out as text and parsed again.
    public func object<Object: Decodable>(as type: Object.Type) throws -> Object {
        try data.object.decode(as: type)
    }
}
