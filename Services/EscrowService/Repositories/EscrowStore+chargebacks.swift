import EventContracts
import Foundation
import GatewayCommands
import PostgresNIO
import StripeClient

extension EscrowStore {
    /// A card chargeback on the payment's charge: every escrow of it is frozen. An escrow already
    /// released gets its disputed share back from the seller by a transfer reversal, as far as
    /// their balance allows; the platform's loss is booked for the rest.
    func chargebackOpened(_ event: ChargebackChanged, cause: Cause, on connection: PostgresConnection) async throws {
        let shares = Allocation.largestRemainder(event.amount, weights: event.orders.map(\.amount))
        for (part, share) in zip(event.orders, shares) {
            guard let escrow = try await lock(orderId: part.orderId, on: connection) else {
                logger.warning("chargeback for an order without escrow", metadata: ["order_id": "\(part.orderId)"])
                continue
            }
            guard escrow.chargebackId != event.disputeId else { continue }
            // A transfer or reversal in flight decides what can be taken back: wait for its outcome.
            let inFlight = try await hasCommandInFlight(escrow, on: connection)
            if escrow.status == .releasing || inFlight { throw EscrowBusy(escrowId: escrow.id) }
            var reversed: Int64 = 0
            if escrow.releasedGross > 0 {
                reversed = try await reverseFromSeller(
                    escrow, upTo: share, purpose: "chargeback-\(event.disputeId)", losses: .chargebackLosses, cause: cause, on: connection)
                try await post(
                    .chargebackAfterRelease(escrow: escrow.id, seller: escrow.sellerId, gross: share, reversed: reversed, currency: escrow.currency),
                    source: "chargeback:\(event.disputeId):\(escrow.id.uuidString.lowercased())", on: connection)
            }
            try await connection.query(
                """
                UPDATE escrows SET chargeback_id = \(event.disputeId), chargeback_amount = \(share), chargeback_reversed = \(reversed),
                    reversed_amount = reversed_amount + \(reversed), updated_at = now()
                WHERE id = \(escrow.id)
                """, logger: logger)
            logger.warning(
                "escrow frozen by a chargeback",
                metadata: ["escrow_id": "\(escrow.id)", "dispute": "\(event.disputeId)", "share": "\(share)", "reversed": "\(reversed)"])
        }
    }

    /// The chargeback closed. Won: the funds return (a released seller is paid back what was
    /// reversed) and a delivered escrow is released. Lost: held funds leave the platform.
    func chargebackClosed(_ event: ChargebackChanged, cause: Cause, on connection: PostgresConnection) async throws {
        let won = event.status == "won" || event.status == "warning_closed"
        for part in event.orders {
            guard var escrow = try await lock(orderId: part.orderId, on: connection), escrow.chargebackId == event.disputeId else { continue }
            // The chargeback's reversal must have its outcome before the close is booked.
            if try await hasCommandInFlight(escrow, on: connection) { throw EscrowBusy(escrowId: escrow.id) }
            let id = escrow.id.uuidString.lowercased()
            escrow.chargebackId = nil
            if escrow.releasedGross > 0 {
                if won {
                    // What was reversed goes back to the seller (whose account the release paid).
                    if escrow.chargebackReversed > 0 {
                        guard let account = try await sellerAccount(sellerId: escrow.sellerId, on: connection) else {
                            throw StoredValueError(column: "seller_accounts (released escrow \(id) has no seller account)")
                        }
                        try await commands.enqueue(
                            GatewayCommand(
                                kind: EscrowCommand.returnTransfer, subject: id, amount: escrow.chargebackReversed, currency: escrow.currency,
                                idempotencyKey: "escrow-\(id)-chargeback-won-\(event.disputeId)-\(escrow.chargebackReversed)",
                                parameters: ["destination": account.accountId, "transfer_group": escrow.checkoutId.uuidString.lowercased()],
                                correlationId: cause.correlationId, causationId: cause.causationId),
                            on: connection)
                    }
                    try await post(
                        .chargebackWonAfterRelease(
                            escrow: escrow.id, seller: escrow.sellerId, gross: escrow.chargebackAmount,
                            reversed: escrow.chargebackReversed, currency: escrow.currency),
                        source: "chargeback-won:\(event.disputeId):\(id)", on: connection)
                } else {
                    escrow.status = .chargedBack
                }
            } else if !won {
                let taken = min(escrow.chargebackAmount, escrow.unallocated)
                if taken > 0 {
                    try await post(
                        .chargebackLost(escrow: escrow.id, amount: taken, currency: escrow.currency),
                        source: "chargeback-lost:\(event.disputeId):\(id)", on: connection)
                }
                // What the card network took is no longer the seller's or the buyer's to claim.
                escrow.refundRequested += taken
                if escrow.unallocated == 0 { escrow.status = .chargedBack }
            }
            try await connection.query(
                """
                UPDATE escrows SET chargeback_id = NULL, status = \(escrow.status.rawValue), refund_requested = \(escrow.refundRequested),
                    updated_at = now()
                WHERE id = \(escrow.id)
                """, logger: logger)
            logger.info("chargeback closed", metadata: ["escrow_id": "\(id)", "status": "\(event.status)"])
            if escrow.status.holdsFunds && escrow.deliveredAt != nil {
                try await release(escrow, cause: cause, on: connection)
            }
        }
    }
}
