/// Where a payment is. Moves only go forward (by rank), so a late or replayed webhook can never
/// move a payment backwards, and a payment succeeds at most once.
enum PaymentStatus: String, Codable, Sendable, CaseIterable {
    /// Created from the checkout, waiting for the buyer.
    case requiresPayment = "requires_payment"
    /// An intent exists and the buyer is paying.
    case processing
    case failed
    case cancelled
    case succeeded
    case partiallyRefunded = "partially_refunded"
    case refunded

    var rank: Int {
        switch self {
        case .requiresPayment: 0
        case .processing: 1
        case .failed, .cancelled: 2
        case .succeeded: 3
        case .partiallyRefunded: 4
        case .refunded: 5
        }
    }

    /// Whether an outcome reported now may be applied to a payment in this state.
    func accepts(_ next: PaymentStatus) -> Bool {
        switch (self, next) {
        // A failed attempt can be followed by a successful one with another card.
        case (.failed, .succeeded), (.failed, .processing): true
        case (.partiallyRefunded, .partiallyRefunded): true
        default: next.rank > rank
        }
    }

    /// The buyer may still pay.
    var isPayable: Bool { self == .requiresPayment || self == .processing || self == .failed }
}
