import Hummingbird
import StripeClient

/// A saved card as its owner sees it: what Stripe shows of it, never the number.
struct SavedCard: Sendable, Equatable, Codable, ResponseEncodable {
    var id: String
    var brand: String
    var last4: String
    var expMonth: Int
    var expYear: Int
    var isDefault: Bool

    enum CodingKeys: String, CodingKey {
        case id, brand, last4, expMonth, expYear
        case isDefault = "default"
    }

    /// Whether `id` has the shape of a Stripe PaymentMethod id (`pm_` and letters, digits or `_`):
    /// only such ids are looked up or put into a gateway path.
    static func isPaymentMethodId(_ id: String) -> Bool {
        id.utf8.count <= 255 && id.hasPrefix("pm_") && id.utf8.count > 3
            && id.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }
}

extension SavedCard {
    /// Nil for a payment method that is not a card.
    init?(_ method: PaymentMethod, defaultId: String?) {
        guard let card = method.card else { return nil }
        self.init(
            id: method.id, brand: card.brand, last4: card.last4, expMonth: card.exp_month, expYear: card.exp_year,
            isDefault: method.id == defaultId)
    }
}

/// The buyer's saved cards, newest first.
struct SavedCardList: Sendable, Encodable, ResponseEncodable {
    var items: [SavedCard]
}

/// A card being saved: the SetupIntent to confirm (its client secret goes to Stripe.js), or,
/// when the request named a payment method, the card it saved.
struct CardSetup: Sendable, Encodable, ResponseEncodable {
    var setupIntentId: String
    var clientSecret: String?
    /// Stripe's SetupIntent status: `succeeded` once the card is saved.
    var status: String
    var paymentMethod: SavedCard?
}

/// Why a saved-card request cannot be done, before HTTP is involved.
enum SavedCardError: Error, Equatable {
    /// No such card among the buyer's (another buyer's card is not theirs either).
    case notFound(String)
    case invalid(String)
    /// The buyer's Stripe Customer is being created: retry shortly.
    case customerPending
    case customerRefused
}
