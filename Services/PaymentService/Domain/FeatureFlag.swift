/// The flags that route PaymentService's flows, with their defaults.
enum FeatureFlag: String, CaseIterable, Sendable {
    /// Buyers may pay on Stripe Checkout (`POST /payments/checkout-session`).
    case checkoutSessions = "checkoutSessions.enabled"
    /// Buyers may top up store credit (`POST /wallet/top-ups`).
    case wallet = "wallet.enabled"

    var defaultValue: Bool { true }

    /// What a buyer reads when the flow is off.
    var offMessage: String {
        switch self {
        case .checkoutSessions: "Paying on Stripe Checkout is turned off (checkoutSessions.enabled)."
        case .wallet: "Store credit top-ups are turned off (wallet.enabled)."
        }
    }
}
