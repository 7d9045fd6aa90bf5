/// An admin moving a stuck payment along its state machine (`POST /admin/payments/{id}/status`),
/// decided against what the gateway reports so no override creates or destroys money: a payment
/// is marked succeeded only when Stripe has its intent succeeded, and failed or cancelled only
/// when no money moved and none is on its way.
enum StatusOverride {
    enum Refusal: Error, Equatable {
        /// Only these can be set; refunds move a payment to (partially) refunded.
        case notSettable(PaymentStatus)
        /// The state machine does not go there from the current status.
        case notAFollowingState(from: PaymentStatus, to: PaymentStatus)
        /// What the gateway reports contradicts the move.
        case gatewayDisagrees(gatewayStatus: String?, wanted: PaymentStatus)
    }

    static let settable: Set<PaymentStatus> = [.failed, .cancelled, .succeeded]

    /// Intent states in which money moved, or may still move without the buyer doing anything.
    static let moneyMovingOrMoved: Set<String> = ["succeeded", "processing", "requires_capture"]

    /// Nil when the move is allowed. `gatewayStatus` is the PaymentIntent's status at Stripe, nil
    /// when the payment has no intent.
    static func check(from current: PaymentStatus, to wanted: PaymentStatus, gatewayStatus: String?) -> Refusal? {
        guard settable.contains(wanted) else { return .notSettable(wanted) }
        guard current.accepts(wanted), current != wanted else { return .notAFollowingState(from: current, to: wanted) }
        switch wanted {
        case .succeeded:
            return gatewayStatus == "succeeded" ? nil : .gatewayDisagrees(gatewayStatus: gatewayStatus, wanted: wanted)
        default:
            return gatewayStatus.map(moneyMovingOrMoved.contains) == true ? .gatewayDisagrees(gatewayStatus: gatewayStatus, wanted: wanted) : nil
        }
    }
}
