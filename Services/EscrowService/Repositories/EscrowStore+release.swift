import EventContracts
import Foundation
import Messaging
import PostgresNIO
import StripeClient

extension EscrowStore {
    /// The seller's connected account as the gateway last reported it.
    struct SellerAccount: Sendable {
        var sellerId: String
        var accountId: String
        var email: String?
        var payoutsEnabled: Bool
    }

    func sellerAccount(sellerId: String, lock: Bool = false, on connection: PostgresConnection) async throws -> SellerAccount? {
        try await connection.query(
            """
            SELECT seller_id, account_id, seller_email, payouts_enabled FROM seller_accounts WHERE seller_id = \(sellerId)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger
        ).decode((String, String, String?, Bool).self).all().first.map {
            SellerAccount(sellerId: $0.0, accountId: $0.1, email: $0.2, payoutsEnabled: $0.3)
        }
    }

    /// Records a seller's account state unless a newer report was already applied, and tells
    /// other services; returns the seller.
    func updateAccount(_ event: GatewayAccountUpdated, cause: Cause, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query(
            """
            UPDATE seller_accounts SET charges_enabled = \(event.chargesEnabled), payouts_enabled = \(event.payoutsEnabled),
                details_submitted = \(event.detailsSubmitted), currently_due = \(event.currentlyDue),
                stripe_created = \(event.stripeCreated), updated_at = now()
            WHERE account_id = \(event.accountId) AND stripe_created <= \(event.stripeCreated)
            RETURNING seller_id, seller_email
            """, logger: logger
        ).decode((String, String?).self).all()
        guard let (seller, email) = rows.first else { return nil }
        try await publish(
            SellerAccountUpdated(
                sellerId: seller, sellerEmail: email, accountId: event.accountId, chargesEnabled: event.chargesEnabled,
                payoutsEnabled: event.payoutsEnabled, currentlyDue: event.currentlyDue),
            aggregateId: seller, cause: cause, on: connection)
        return seller
    }

    /// The order was delivered: release its escrow unless something blocks it. A delivery that
    /// arrives before the payment opened the escrow is kept and applied when it opens.
    func delivered(orderId: UUID, cause: Cause, on connection: PostgresConnection) async throws {
        guard var escrow = try await lock(orderId: orderId, on: connection) else {
            try await deferEvent("order.delivered", orderId: orderId, cause: cause, on: connection)
            return
        }
        if escrow.deliveredAt == nil {
            try await connection.query("UPDATE escrows SET delivered_at = now() WHERE id = \(escrow.id)", logger: logger)
            escrow.deliveredAt = Date()
        }
        try await release(escrow, cause: cause, on: connection)
    }

    /// Releases what the escrow still holds unallocated: a transfer of the net to the seller's
    /// connected account (funded by the charge, grouped by checkout, keyed by the escrow id so
    /// a retry can never pay twice), then the ledger moves held → fee + seller available and
    /// `escrow.released` is published. A blocked release is parked with its reason.
    func release(_ escrow: Escrow, cause: Cause, on connection: PostgresConnection) async throws {
        let gross = escrow.unallocated
        // Released once, or everything held is promised to the buyer: nothing for the seller.
        guard escrow.status.holdsFunds, escrow.releasedGross == 0, gross > 0 else { return }
        let account = try await sellerAccount(sellerId: escrow.sellerId, on: connection)
        if let blocker = ReleaseBlocker.first(
            disputeOpen: escrow.disputeId != nil, chargebackOpen: escrow.chargebackId != nil, hasAccount: account != nil,
            payoutsEnabled: account?.payoutsEnabled ?? false)
        {
            try await park(escrow, blocker, cause: cause, on: connection)
            return
        }
        let fee = Settlement.feeShare(of: escrow.feeAmount, gross: escrow.grossAmount, released: gross)
        let net = gross - fee
        var transferId: String?
        if net > 0, let account {  // an account exists: no blocker
            let transfer = try await gateway.transfer(
                amount: net, currency: escrow.currency, destination: account.accountId, sourceTransaction: escrow.chargeId,
                transferGroup: escrow.checkoutId.uuidString.lowercased(), idempotencyKey: "escrow-\(escrow.id.uuidString.lowercased())-release")
            transferId = transfer.id
        }
        try await connection.query(
            """
            UPDATE escrows SET status = 'released', transfer_id = \(transferId), parked_reason = NULL, released_at = now(),
                released_gross = \(gross), released_fee = \(fee), released_net = \(net), updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        try await post(
            .release(escrow: escrow.id, seller: escrow.sellerId, gross: gross, fee: fee, currency: escrow.currency),
            source: "release:\(escrow.id.uuidString.lowercased())", on: connection)
        try await publish(
            EscrowReleased(
                escrowId: escrow.id, orderId: escrow.orderId, sellerId: escrow.sellerId, amount: net, currency: escrow.currency,
                grossAmount: gross, feeAmount: fee, transferId: transferId),
            aggregateId: escrow.orderId.uuidString.lowercased(), cause: cause, on: connection)
        logger.info(
            "escrow released",
            metadata: ["escrow_id": "\(escrow.id)", "order_id": "\(escrow.orderId)", "transfer": "\(transferId ?? "-")", "net": "\(net)"])
    }

    private func park(_ escrow: Escrow, _ blocker: ReleaseBlocker, cause: Cause, on connection: PostgresConnection) async throws {
        let reason = blocker.description
        try await connection.query(
            "UPDATE escrows SET status = 'parked', parked_reason = \(reason), updated_at = now() WHERE id = \(escrow.id)",
            logger: logger)
        // Tell others once per reason (a repeated attempt with the same blocker says nothing new).
        if escrow.status != .parked || escrow.parkedReason != reason {
            try await publish(
                EscrowReleaseParked(escrowId: escrow.id, orderId: escrow.orderId, sellerId: escrow.sellerId, reason: reason),
                aggregateId: escrow.orderId.uuidString.lowercased(), cause: cause, on: connection)
        }
        logger.info("escrow release parked", metadata: ["escrow_id": "\(escrow.id)", "reason": "\(reason)"])
    }

    /// Takes up to `amount` of a released escrow's transfer back from the seller, as far as
    /// their available balance allows (under a lock on the seller, so payouts cannot race it);
    /// returns what was reversed. `purpose` keys the reversal, so a retry reverses nothing twice.
    func reverseFromSeller(_ escrow: Escrow, upTo amount: Int64, purpose: String, on connection: PostgresConnection) async throws -> Int64 {
        guard let transfer = escrow.transferId else { return 0 }
        _ = try await sellerAccount(sellerId: escrow.sellerId, lock: true, on: connection)
        let available = try await balance(of: .sellerAvailable(escrow.sellerId), currency: escrow.currency, on: connection)
        let reversed = max(0, min(amount, escrow.releasedNet - escrow.reversedAmount, available))
        guard reversed > 0 else { return 0 }
        _ = try await gateway.reverseTransfer(
            transfer, amount: reversed, idempotencyKey: "escrow-\(escrow.id.uuidString.lowercased())-\(purpose)")
        return reversed
    }

    /// Tries again every parked release of a seller (their account changed).
    func retryParked(sellerId: String, cause: Cause, on connection: PostgresConnection) async throws {
        let orders = try await connection.query(
            "SELECT order_id FROM escrows WHERE seller_id = \(sellerId) AND status = 'parked' ORDER BY created_at", logger: logger
        ).decode(UUID.self).all()
        for order in orders {
            guard let escrow = try await lock(orderId: order, on: connection) else { continue }
            try await release(escrow, cause: cause, on: connection)
        }
    }
}
