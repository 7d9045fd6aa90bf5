import EventContracts
import Foundation
import HTTPSupport
import Messaging
import PostgresNIO
import StripeClient

extension EscrowStore {
    /// Asks PaymentService (through `refund.requested`) to give `amount` of what the escrow
    /// holds back to the buyer. Never while a card chargeback is open on the charge.
    @discardableResult
    func requestRefund(_ escrow: Escrow, amount: Int64, reason: String, cause: Cause, on connection: PostgresConnection) async throws -> Escrow {
        guard escrow.chargebackId == nil else {
            throw Problem.conflict("The charge is under a card chargeback; no refund may be issued until it closes.")
        }
        guard amount > 0 else { throw Problem.validation("The refund amount must be positive (minor units).") }
        var escrow = escrow
        escrow.refundRequested += amount
        if escrow.status.holdsFunds && escrow.unallocated == 0 && escrow.releasedGross == 0 { escrow.status = .refunding }
        try await connection.query(
            """
            UPDATE escrows SET refund_requested = \(escrow.refundRequested), status = \(escrow.status.rawValue), updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        try await publish(
            RefundRequested(requestId: UUID(), orderId: escrow.orderId, amount: amount, currency: escrow.currency, reason: reason),
            aggregateId: escrow.orderId.uuidString.lowercased(), cause: cause, on: connection)
        logger.info("refund requested", metadata: ["escrow_id": "\(escrow.id)", "amount": "\(amount)", "reason": "\(reason)"])
        return escrow
    }

    /// The order was cancelled after payment (before shipment): everything held goes back to
    /// the buyer and nothing to the seller.
    func cancelled(orderId: UUID, eventType: String, cause: Cause, on connection: PostgresConnection) async throws {
        guard let escrow = try await lock(orderId: orderId, on: connection) else {
            try await deferEvent(eventType, orderId: orderId, cause: cause, on: connection)
            return
        }
        guard escrow.unallocated > 0 else { return }
        guard escrow.chargebackId == nil else {
            try await flag(escrow, reason: "order cancelled while a chargeback is open: refund it once the chargeback closes", on: connection)
            return
        }
        try await requestRefund(escrow, amount: escrow.unallocated, reason: "order cancelled before shipment", cause: cause, on: connection)
    }

    /// Admin refund of a released escrow: the seller's part comes back through a transfer
    /// reversal (as far as their balance allows; the platform covers the rest), then the amount
    /// is refunded. `key` identifies the request (unique per admin and Idempotency-Key), so a
    /// retry reverses nothing twice.
    func refundAfterRelease(_ escrow: Escrow, amount: Int64, reason: String, key: String, cause: Cause, on connection: PostgresConnection) async throws -> Escrow {
        // A lost chargeback already gave the money back through the card network.
        guard escrow.status == .released else {
            throw Problem.conflict(
                "The escrow is \(escrow.status.rawValue); only a released escrow can be refunded this way.",
                extensions: ["currentState": escrow.status.rawValue])
        }
        guard escrow.chargebackId == nil else {
            throw Problem.conflict("The charge is under a card chargeback; no refund may be issued until it closes.")
        }
        let refundable = escrow.grossAmount - escrow.refundRequested
        guard amount > 0 && amount <= refundable else {
            throw Problem.validation("amount must be from 1 to \(refundable) (what has not been refunded yet), in minor units.")
        }
        // Money already re-held (a refund that failed earlier) is used first.
        let held = try await balance(of: .escrowHeld(escrow.id), currency: escrow.currency, on: connection)
        let needed = max(0, amount - held)
        var reversed: Int64 = 0
        if needed > 0 {
            reversed = try await reverseFromSeller(
                escrow, upTo: needed, purpose: "refund-\(key)", losses: .refundLosses, cause: cause, on: connection)
            try await post(
                .rehold(escrow: escrow.id, seller: escrow.sellerId, amount: needed, reversed: reversed, currency: escrow.currency),
                source: "rehold:\(escrow.id.uuidString.lowercased()):\(key)", on: connection)
        }
        var escrow = escrow
        escrow.reversedAmount += reversed
        try await connection.query(
            "UPDATE escrows SET reversed_amount = \(escrow.reversedAmount) WHERE id = \(escrow.id)", logger: logger)
        return try await requestRefund(escrow, amount: amount, reason: reason, cause: cause, on: connection)
    }

    /// PaymentService refunded part of the order: the ledger moves it to buyer refunds.
    func refundSucceeded(_ event: RefundSucceeded, cause: Cause, on connection: PostgresConnection) async throws {
        guard let escrow = try await lock(orderId: event.orderId, on: connection) else {
            logger.warning("refund for an order without escrow", metadata: ["order_id": "\(event.orderId)"])
            return
        }
        let held = try await balance(of: .escrowHeld(escrow.id), currency: escrow.currency, on: connection)
        let fromHeld = min(event.amount, max(0, held))
        // What store credit paid goes back to the wallet.
        let toWallet = min(max(event.walletAmount ?? 0, 0), event.amount)
        guard toWallet == 0 || escrow.buyerId != nil else {
            throw EventRejected("refund \(event.refundId) returns \(toWallet) to the wallet of an escrow with no buyer")
        }
        if toWallet > 0, let buyer = escrow.buyerId { try await WalletStore(escrows: self).lock([buyer], on: connection) }
        let posted = try await post(
            .refund(
                escrow: escrow.id, fromHeld: fromHeld, uncovered: event.amount - fromHeld,
                toWallet: escrow.buyerId.map { ($0, toWallet) }, currency: escrow.currency),
            source: "refund:\(event.refundId.uuidString.lowercased())", on: connection)
        guard posted else { return }
        let refunded = escrow.refundedAmount + event.amount
        // A refund made directly at PaymentService (not requested here) counts as promised too.
        let requested = max(escrow.refundRequested, refunded)
        let status: EscrowStatus = escrow.releasedGross == 0 && refunded >= escrow.grossAmount ? .refunded : escrow.status
        try await connection.query(
            """
            UPDATE escrows SET refunded_amount = \(refunded), refund_requested = \(requested), status = \(status.rawValue),
                wallet_refunded = wallet_refunded + \(toWallet), updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        logger.info("refund booked", metadata: ["escrow_id": "\(escrow.id)", "amount": "\(event.amount)", "uncovered": "\(event.amount - fromHeld)"])
    }

    /// PaymentService could not refund: the amount is held again and admins are told.
    func refundFailed(_ event: RefundFailed, on connection: PostgresConnection) async throws {
        guard let escrow = try await lock(orderId: event.orderId, on: connection) else { return }
        if event.afterSuccess == true {
            try await refundReturned(event, escrow: escrow, on: connection)
            return
        }
        let requested = max(escrow.refundedAmount, escrow.refundRequested - event.amount)
        // Held again (not parked: an admin decides, a seller's account update must not release it).
        let status: EscrowStatus = escrow.status == .refunding ? .held : escrow.status
        try await connection.query(
            """
            UPDATE escrows SET refund_requested = \(requested), status = \(status.rawValue), updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        try await flag(escrow, reason: "refund of \(event.amount) failed: \(event.reason)", on: connection)
    }

    /// A refund that had succeeded failed later (the buyer's bank returned it): its journal is
    /// reversed, so the money is held by the escrow again, and the escrow goes back to the state
    /// it came from (a refunded escrow holds again; a released one stays released), flagged for
    /// admins to decide.
    private func refundReturned(_ event: RefundFailed, escrow: Escrow, on connection: PostgresConnection) async throws {
        let refund = event.refundId.uuidString.lowercased()
        let original = try await connection.query(
            """
            SELECT e.account, e.amount, e.currency FROM journal_entries e JOIN journal_transactions t ON t.id = e.transaction_id
            WHERE t.source = \("refund:\(refund)")
            """, logger: logger
        ).decode((String, Int64, String).self).all()
        guard !original.isEmpty else {
            logger.warning("late refund failure for a refund never booked here", metadata: ["refund_id": "\(refund)"])
            return
        }
        var journal = Journal(memo: "refund \(refund) failed after it succeeded")
        for (account, amount, currency) in original {
            guard let ledgerAccount = LedgerAccount(parsing: account) else { throw StoredValueError(column: "journal_entries.account") }
            // The mirror of each entry: what was credited is debited back, and the other way round.
            journal.credit(ledgerAccount, amount, currency)
        }
        guard try await post(journal, source: "refund-returned:\(refund)", on: connection) else { return }
        let refunded = max(0, escrow.refundedAmount - event.amount)
        let requested = max(0, escrow.refundRequested - event.amount)
        let status: EscrowStatus = escrow.status == .refunded || escrow.status == .refunding ? .held : escrow.status
        try await connection.query(
            """
            UPDATE escrows SET refunded_amount = \(refunded), refund_requested = \(requested), status = \(status.rawValue), updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        try await flag(escrow, reason: "refund of \(event.amount) failed after it had succeeded: \(event.reason)", on: connection)
    }
}
