import EventContracts
import Foundation
import HTTPSupport

/// A listing as checkout sees it.
struct ListingForSale: Sendable, Equatable {
    var id: UUID
    var sellerId: String
    var title: String
    var priceAmount: Int64
    var currency: String
    var active: Bool
}

/// What a buyer asked for: listings and quantities (duplicates are merged).
struct RequestedItem: Codable, Sendable, Equatable {
    var listingId: UUID
    var quantity: Int
}

/// The orders a checkout becomes: one per seller, priced from the listings, in one currency.
struct CheckoutPlan: Sendable, Equatable {
    struct SellerOrder: Sendable, Equatable {
        var sellerId: String
        var lines: [OrderLine]
        var totalAmount: Int64
    }

    var currency: String
    var orders: [SellerOrder]
    var totalAmount: Int64

    static let maximumQuantity = 100
    static let maximumItems = 50

    /// Validates the request and prices it; the client never sends prices.
    static func make(buyerId: String, items: [RequestedItem], listings: [UUID: ListingForSale]) throws -> CheckoutPlan {
        guard !items.isEmpty else { throw Problem.validation("A checkout needs at least one item.") }
        guard items.count <= maximumItems else { throw Problem.validation("At most \(maximumItems) items per checkout.") }
        var quantities: [UUID: Int] = [:]
        var order: [UUID] = []
        for item in items {
            guard (1...maximumQuantity).contains(item.quantity) else {
                throw Problem.validation("quantity must be between 1 and \(maximumQuantity).")
            }
            if quantities[item.listingId] == nil { order.append(item.listingId) }
            quantities[item.listingId, default: 0] += item.quantity
        }
        var lines: [(sellerId: String, line: OrderLine)] = []
        var currencies: Set<String> = []
        for listingId in order {
            let quantity = quantities[listingId]!
            guard quantity <= maximumQuantity else {
                throw Problem.validation("quantity must be between 1 and \(maximumQuantity).")
            }
            guard let listing = listings[listingId], listing.active else {
                throw Problem.validation("Listing \(listingId.uuidString.lowercased()) does not exist or is not for sale.")
            }
            guard listing.sellerId != buyerId else { throw Problem.validation("You cannot buy your own listing.") }
            guard let lineTotal = Money.multiply(listing.priceAmount, by: quantity) else {
                throw Problem.validation("The amount is too large.")
            }
            currencies.insert(listing.currency)
            lines.append((listing.sellerId, OrderLine(
                listingId: listing.id, title: listing.title, quantity: quantity, unitPriceAmount: listing.priceAmount,
                lineTotalAmount: lineTotal)))
        }
        guard currencies.count == 1, let currency = currencies.first else {
            throw Problem.validation("All items of a checkout must be in one currency.")
        }
        var sellers: [String] = []
        var bySeller: [String: [OrderLine]] = [:]
        for (sellerId, line) in lines {
            if bySeller[sellerId] == nil { sellers.append(sellerId) }
            bySeller[sellerId, default: []].append(line)
        }
        let orders = try sellers.map { sellerId in
            let sellerLines = bySeller[sellerId]!
            guard let total = Money.sum(sellerLines.map(\.lineTotalAmount)) else {
                throw Problem.validation("The amount is too large.")
            }
            return SellerOrder(sellerId: sellerId, lines: sellerLines, totalAmount: total)
        }
        guard let total = Money.sum(orders.map(\.totalAmount)) else { throw Problem.validation("The amount is too large.") }
        return CheckoutPlan(currency: currency, orders: orders, totalAmount: total)
    }
}
