import Foundation
import HTTPSupport
import Testing

@testable import OrderService

@Suite struct CheckoutPlanTests {
    let mug = ListingForSale(id: UUID(), sellerId: "s1", title: "Mug", priceAmount: 1250, currency: "usd", active: true)
    let pen = ListingForSale(id: UUID(), sellerId: "s1", title: "Pen", priceAmount: 199, currency: "usd", active: true)
    let lamp = ListingForSale(id: UUID(), sellerId: "s2", title: "Lamp", priceAmount: 4999, currency: "usd", active: true)
    let yen = ListingForSale(id: UUID(), sellerId: "s3", title: "Tea", priceAmount: 500, currency: "jpy", active: true)

    var listings: [UUID: ListingForSale] {
        Dictionary(uniqueKeysWithValues: [mug, pen, lamp, yen].map { ($0.id, $0) })
    }

    @Test func splitsBySellerAndPricesFromTheListings() throws {
        let plan = try CheckoutPlan.make(
            buyerId: "b", items: [.init(listingId: mug.id, quantity: 2), .init(listingId: lamp.id, quantity: 1), .init(listingId: pen.id, quantity: 3)],
            listings: listings)
        #expect(plan.currency == "usd")
        #expect(plan.orders.map(\.sellerId) == ["s1", "s2"])
        #expect(plan.orders[0].totalAmount == 2 * 1250 + 3 * 199)
        #expect(plan.orders[1].totalAmount == 4999)
        #expect(plan.totalAmount == 2 * 1250 + 3 * 199 + 4999)
        #expect(plan.orders[0].lines.map(\.lineTotalAmount) == [2500, 597])
    }

    @Test func duplicateLinesAreMerged() throws {
        let plan = try CheckoutPlan.make(
            buyerId: "b", items: [.init(listingId: mug.id, quantity: 1), .init(listingId: mug.id, quantity: 2)], listings: listings)
        #expect(plan.orders[0].lines.count == 1)
        #expect(plan.orders[0].lines[0].quantity == 3)
    }

    @Test func mixedCurrenciesAreRefused() {
        let error = #expect(throws: Problem.self) {
            try CheckoutPlan.make(buyerId: "b", items: [.init(listingId: mug.id, quantity: 1), .init(listingId: yen.id, quantity: 1)], listings: listings)
        }
        #expect(error?.status == .unprocessableContent)
    }

    @Test(arguments: [0, -1, 101])
    func quantitiesOutsideOneToAHundredAreRefused(_ quantity: Int) {
        #expect(throws: Problem.self) {
            try CheckoutPlan.make(buyerId: "b", items: [.init(listingId: mug.id, quantity: quantity)], listings: listings)
        }
    }

    @Test func unknownInactiveAndOwnListingsAreRefused() {
        var inactive = pen
        inactive.active = false
        #expect(throws: Problem.self) { try CheckoutPlan.make(buyerId: "b", items: [.init(listingId: UUID(), quantity: 1)], listings: listings) }
        #expect(throws: Problem.self) { try CheckoutPlan.make(buyerId: "b", items: [.init(listingId: pen.id, quantity: 1)], listings: [pen.id: inactive]) }
        #expect(throws: Problem.self) { try CheckoutPlan.make(buyerId: "s1", items: [.init(listingId: mug.id, quantity: 1)], listings: listings) }
        #expect(throws: Problem.self) { try CheckoutPlan.make(buyerId: "b", items: [], listings: listings) }
    }

    @Test func amountsThatWouldOverflowAreRefusedNotWrapped() {
        let huge = ListingForSale(id: UUID(), sellerId: "s9", title: "Yacht", priceAmount: Int64.max / 2, currency: "usd", active: true)
        #expect(throws: Problem.self) {
            try CheckoutPlan.make(buyerId: "b", items: [.init(listingId: huge.id, quantity: 3)], listings: [huge.id: huge])
        }
    }
}
