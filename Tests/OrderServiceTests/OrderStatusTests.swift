import Testing

@testable import OrderService

@Suite struct OrderStatusTests {
    static let allowed: Set<String> = [
        "pending_payment>paid", "pending_payment>cancelled",
        "paid>shipped", "paid>cancelled", "paid>disputed",
        "shipped>delivered", "shipped>disputed", "shipped>refunded",
        "delivered>completed", "delivered>disputed", "delivered>refunded",
        "disputed>completed", "disputed>refunded",
        "completed>disputed", "completed>refunded",
    ]

    static var everyPair: [(OrderStatus, OrderStatus)] {
        OrderStatus.allCases.flatMap { from in OrderStatus.allCases.map { (from, $0) } }
    }

    @Test(arguments: everyPair)
    func everyMoveIsAllowedOnlyIfListed(_ from: OrderStatus, _ to: OrderStatus) {
        let listed = Self.allowed.contains("\(from.rawValue)>\(to.rawValue)")
        #expect(from.canMove(to: to) == listed)
        if listed {
            #expect((try? from.moving(to: to)) == to)
        } else {
            #expect(throws: OrderTransitionError(from: from, to: to)) { try from.moving(to: to) }
        }
    }

    @Test func cancelledAndRefundedAreFinal() {
        #expect(OrderStatus.cancelled.isTerminal)
        #expect(OrderStatus.refunded.isTerminal)
        #expect(!OrderStatus.completed.isTerminal)
    }

    @Test func eventTypesNameTheNewState() {
        #expect(OrderStatus.pendingPayment.eventType == "order.placed")
        #expect(OrderStatus.paid.eventType == "order.paid")
        #expect(OrderStatus.cancelled.eventType == "order.cancelled")
    }
}
