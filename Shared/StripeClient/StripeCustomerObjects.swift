/// A buyer at Stripe: the owner of saved cards.
public struct Customer: Decodable, Sendable, Equatable {
    public struct InvoiceSettings: Decodable, Sendable, Equatable {
        /// The card charged when none is named.
        public var default_payment_method: ExpandableID?
    }

    public var id: String
    public var email: String?
    public var metadata: [String: String]
    public var invoice_settings: InvoiceSettings?

    public var defaultPaymentMethod: String? { invoice_settings?.default_payment_method?.id }
}

/// Saves a payment method for a customer; the client confirms it with its `client_secret`.
public struct SetupIntent: Decodable, Sendable, Equatable {
    public var id: String
    public var client_secret: String?
    public var customer: ExpandableID?
    public var payment_method: ExpandableID?
    public var status: String
    public var usage: String?
}

/// A payment method with what may be shown of a card: brand, last 4, expiry. Never the number.
public struct PaymentMethod: Decodable, Sendable, Equatable {
    public struct Card: Decodable, Sendable, Equatable {
        public var brand: String
        public var last4: String
        public var exp_month: Int
        public var exp_year: Int
        public var funding: String?
    }

    public var id: String
    public var type: String
    public var customer: ExpandableID?
    public var card: Card?
    public var created: Int64
}
