/// Where an order is in its life. The allowed moves are the whole state machine; anything else
/// is refused with the current state named.
enum OrderStatus: String, Codable, Sendable, CaseIterable {
    case pendingPayment = "pending_payment"
    case paid
    case shipped
    case delivered
    case completed
    case cancelled
    case disputed
    case refunded

    /// The states each state may move to.
    static let transitions: [OrderStatus: Set<OrderStatus>] = [
        .pendingPayment: [.paid, .cancelled],
        // Refunded before shipment is a cancellation.
        .paid: [.shipped, .cancelled, .disputed],
        .shipped: [.delivered, .disputed, .refunded],
        .delivered: [.completed, .disputed, .refunded],
        // A resolved dispute ends released (completed) or refunded.
        .disputed: [.completed, .refunded],
        // A chargeback can still arrive after release; an admin can refund after release.
        .completed: [.disputed, .refunded],
        .cancelled: [],
        .refunded: [],
    ]

    func canMove(to next: OrderStatus) -> Bool {
        Self.transitions[self, default: []].contains(next)
    }

    /// The state after a move, or an error naming both states.
    func moving(to next: OrderStatus) throws(OrderTransitionError) -> OrderStatus {
        guard canMove(to: next) else { throw OrderTransitionError(from: self, to: next) }
        return next
    }

    var isTerminal: Bool { Self.transitions[self, default: []].isEmpty }

    /// The event published when an order enters this state.
    var eventType: String {
        switch self {
        case .pendingPayment: "order.placed"
        default: "order.\(rawValue)"
        }
    }
}

/// A move the state machine does not allow.
struct OrderTransitionError: Error, Equatable {
    let from: OrderStatus
    let to: OrderStatus
}
