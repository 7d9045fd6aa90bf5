/// The flags that route PaymentService's flows, with their defaults.
enum FeatureFlag: String, CaseIterable, Sendable {
    /// Buyers may pay on Stripe Checkout (`POST /payments/checkout-session`).
    case checkoutSessions = "checkoutSessions.enabled"
    /// Buyers may top up store credit (`POST /wallet/top-ups`) and spend it at checkout.
    case wallet = "wallet.enabled"
    /// create-intent spends store credit first unless the buyer says `useWallet: false` (off: only
    /// when the buyer asks with `useWallet: true`).
    case walletSpendFirst = "wallet.spendFirst"

    var defaultValue: Bool { self != .walletSpendFirst }

    /// What a buyer reads when the flow is off.
    var offMessage: String {
        switch self {
        case .checkoutSessions: "Paying on Stripe Checkout is turned off (checkoutSessions.enabled)."
        case .wallet: "Store credit is turned off (wallet.enabled)."
        case .walletSpendFirst: "Store credit is not spent first (wallet.spendFirst)."
        }
    }
}
