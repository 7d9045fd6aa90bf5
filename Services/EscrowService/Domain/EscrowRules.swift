import EventContracts
import Foundation

/// Where an escrow is in its life. Open disputes and chargebacks are kept beside the status
/// (they freeze it without changing where the money is).
enum EscrowStatus: String, Codable, Sendable {
    /// Funds held, waiting for delivery.
    case held
    /// Delivered, but the release waits for a blocker to clear.
    case parked
    /// The transfer of the seller's part is decided and in flight at the gateway: no dispute, no
    /// refund, no second release until its outcome is known.
    case releasing
    /// The seller got their part through a transfer.
    case released
    /// A refund of everything still held was requested.
    case refunding
    /// Everything went back to the buyer.
    case refunded
    /// A card chargeback was lost.
    case chargedBack = "charged_back"

    /// Still holding money that can be released or refunded.
    var holdsFunds: Bool { self == .held || self == .parked }
}

/// What keeps an escrow from being released right now, in the order they are reported.
enum ReleaseBlocker: Equatable, Sendable, CustomStringConvertible {
    case disputeOpen
    case chargebackOpen
    case noConnectedAccount
    case payoutsDisabled

    static func first(disputeOpen: Bool, chargebackOpen: Bool, hasAccount: Bool, payoutsEnabled: Bool) -> ReleaseBlocker? {
        if disputeOpen { return .disputeOpen }
        if chargebackOpen { return .chargebackOpen }
        if !hasAccount { return .noConnectedAccount }
        if !payoutsEnabled { return .payoutsDisabled }
        return nil
    }

    var description: String {
        switch self {
        case .disputeOpen: "a dispute is open"
        case .chargebackOpen: "a card chargeback is open"
        case .noConnectedAccount: "the seller has no connected account"
        case .payoutsDisabled: "the seller's account cannot receive payouts yet"
        }
    }
}

/// How an admin settles a dispute.
enum DisputeOutcome: String, Codable, Sendable, CaseIterable {
    /// Everything still held goes back to the buyer.
    case refund
    /// Everything still held goes to the seller (less the fee).
    case release
    /// `refundAmount` to the buyer, the rest to the seller (less its share of the fee).
    case split
}

/// The money of one escrow as a settlement divides it: refund + fee + net = what was held.
struct Settlement: Equatable, Sendable {
    var refund: Int64
    var releaseGross: Int64
    var fee: Int64
    var net: Int64 { releaseGross - fee }

    enum Error: Swift.Error, Equatable {
        case refundAmountRequired
        case refundAmountOutOfRange(held: Int64)
        case refundAmountNotAllowed
    }

    /// Divides `held` (of an escrow whose whole gross `gross` carries `fee`) by the outcome.
    /// The fee shrinks with the released part, by largest remainder, so the parts add up.
    static func divide(
        _ outcome: DisputeOutcome, held: Int64, gross: Int64, fee: Int64, refundAmount: Int64?
    ) throws(Error) -> Settlement {
        let refund: Int64
        switch outcome {
        case .refund:
            guard refundAmount == nil || refundAmount == held else { throw .refundAmountNotAllowed }
            refund = held
        case .release:
            guard refundAmount == nil || refundAmount == 0 else { throw .refundAmountNotAllowed }
            refund = 0
        case .split:
            guard let refundAmount else { throw .refundAmountRequired }
            guard refundAmount > 0 && refundAmount < held else { throw .refundAmountOutOfRange(held: held) }
            refund = refundAmount
        }
        let releaseGross = held - refund
        return Settlement(refund: refund, releaseGross: releaseGross, fee: feeShare(of: fee, gross: gross, released: releaseGross))
    }

    /// The part of an escrow's fee that a release of `released` (of `gross`) carries.
    static func feeShare(of fee: Int64, gross: Int64, released: Int64) -> Int64 {
        guard released < gross else { return fee }
        guard released > 0 else { return 0 }
        return Allocation.largestRemainder(fee, weights: [released, gross - released])[0]
    }
}
