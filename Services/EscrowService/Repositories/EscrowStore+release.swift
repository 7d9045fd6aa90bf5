import EventContracts
import Foundation
import GatewayCommands
import Messaging
import Persistence
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
        try await connection.query(prepared:
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
        let rows = try await connection.query(prepared:
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
            try await connection.query(prepared: "UPDATE escrows SET delivered_at = now() WHERE id = \(escrow.id)", logger: logger)
            escrow.deliveredAt = Date()
        }
        try await release(escrow, cause: cause, on: connection)
    }

    /// Releases what the escrow still holds unallocated. Unless something blocks it (then it is
    /// parked with the reason), the escrow becomes `releasing` and a transfer of the net to the
    /// seller's connected account is recorded as a gateway command, in this transaction; the
    /// command worker makes the transfer afterwards and `completeRelease` books it.
    func release(_ escrow: Escrow, cause: Cause, on connection: PostgresConnection) async throws {
        let gross = escrow.unallocated
        // Released once, or everything held is promised to the buyer: nothing for the seller.
        guard escrow.status.holdsFunds, escrow.releasedGross == 0, gross > 0 else { return }
        let account = try await sellerAccount(sellerId: escrow.sellerId, on: connection)
        if let blocker = ReleaseBlocker.first(
            disputeOpen: escrow.disputeId != nil, chargebackOpen: escrow.chargebackId != nil, hasAccount: account != nil,
            payoutsEnabled: account?.payoutsEnabled ?? false)
        {
            try await park(escrow, reason: blocker.description, cause: cause, on: connection)
            return
        }
        let fee = Settlement.feeShare(of: escrow.feeAmount, gross: escrow.grossAmount, released: gross)
        let net = gross - fee
        try await connection.query(prepared:
            """
            UPDATE escrows SET status = 'releasing', parked_reason = NULL, released_gross = \(gross), released_fee = \(fee),
                released_net = \(net), updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        guard net > 0, let account else {  // the fee takes it all: nothing to transfer
            try await completeRelease(escrowId: escrow.id, transferId: nil, cause: cause, on: connection)
            return
        }
        let id = escrow.id.uuidString.lowercased()
        // Earlier release commands of this escrow were all refused (nothing was created), so a new
        // one gets a new key; a retry of this one keeps it.
        let earlier = try await commands.commands(subject: id, kind: EscrowCommand.releaseTransfer, on: connection).count
        var parameters = ["destination": account.accountId, "transfer_group": escrow.checkoutId.uuidString.lowercased()]
        // Tied to the charge it came from, so Stripe pays it once that charge's funds are available.
        // Store credit was charged earlier (a top-up) and sits in the platform's balance: a
        // transfer that pays any of it comes from that balance, with no source charge.
        if escrow.walletAmount == 0 { parameters["source_transaction"] = escrow.chargeId }
        try await commands.enqueue(
            GatewayCommand(
                kind: EscrowCommand.releaseTransfer, subject: id, amount: net, currency: escrow.currency,
                idempotencyKey: "escrow-\(id)-release-\(net)-\(earlier + 1)", parameters: parameters,
                correlationId: cause.correlationId, causationId: cause.causationId),
            on: connection)
        logger.info("escrow release decided", metadata: ["escrow_id": "\(id)", "order_id": "\(escrow.orderId)", "net": "\(net)"])
    }

    /// The gateway made the release's transfer (or none was needed): the ledger moves held → fee +
    /// seller available and `escrow.released` is published.
    func completeRelease(escrowId: UUID, transferId: String?, cause: Cause, on connection: PostgresConnection) async throws {
        guard let escrow = try await lock(id: escrowId, on: connection), escrow.status == .releasing else { return }
        try await connection.query(prepared:
            """
            UPDATE escrows SET status = 'released', transfer_id = \(transferId), released_at = now(), updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        try await post(
            .release(escrow: escrow.id, seller: escrow.sellerId, gross: escrow.releasedGross, fee: escrow.releasedFee, currency: escrow.currency),
            source: "release:\(escrow.id.uuidString.lowercased())", on: connection)
        try await publish(
            EscrowReleased(
                escrowId: escrow.id, orderId: escrow.orderId, sellerId: escrow.sellerId, amount: escrow.releasedNet,
                currency: escrow.currency, grossAmount: escrow.releasedGross, feeAmount: escrow.releasedFee, transferId: transferId),
            aggregateId: escrow.orderId.uuidString.lowercased(), cause: cause, on: connection)
        logger.info(
            "escrow released",
            metadata: ["escrow_id": "\(escrow.id)", "order_id": "\(escrow.orderId)", "transfer": "\(transferId ?? "-")", "net": "\(escrow.releasedNet)"])
    }

    /// The gateway refused the release's transfer (nothing was paid): the escrow holds the money
    /// again, parked with the reason and flagged for admins; an account update tries again.
    func releaseRefused(escrowId: UUID, reason: String, cause: Cause, on connection: PostgresConnection) async throws {
        guard var escrow = try await lock(id: escrowId, on: connection), escrow.status == .releasing else { return }
        try await connection.query(prepared:
            "UPDATE escrows SET released_gross = 0, released_fee = 0, released_net = 0 WHERE id = \(escrow.id)", logger: logger)
        escrow.releasedGross = 0
        let why = "the gateway refused the transfer: \(reason)"
        try await park(escrow, reason: why, cause: cause, on: connection)
        try await flag(escrow, reason: why, on: connection)
    }

    private func park(_ escrow: Escrow, reason: String, cause: Cause, on connection: PostgresConnection) async throws {
        try await connection.query(prepared:
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
    /// returns what will be reversed. The caller books it in this transaction; the reversal itself
    /// is a gateway command keyed by `purpose` and the amount, so a retry reverses nothing twice.
    /// `losses` is the account that covers it should the gateway refuse.
    func reverseFromSeller(
        _ escrow: Escrow, upTo amount: Int64, purpose: String, losses: LedgerAccount, cause: Cause, on connection: PostgresConnection
    ) async throws -> Int64 {
        guard let transfer = escrow.transferId else { return 0 }
        _ = try await sellerAccount(sellerId: escrow.sellerId, lock: true, on: connection)
        let available = try await balance(of: .sellerAvailable(escrow.sellerId), currency: escrow.currency, on: connection)
        let reversed = max(0, min(amount, escrow.releasedNet - escrow.reversedAmount, available))
        guard reversed > 0 else { return 0 }
        let id = escrow.id.uuidString.lowercased()
        try await commands.enqueue(
            GatewayCommand(
                kind: EscrowCommand.reversal, subject: id, amount: reversed, currency: escrow.currency,
                idempotencyKey: "escrow-\(id)-\(purpose)-\(reversed)",
                parameters: ["transfer": transfer, "purpose": purpose, "losses": losses.description],
                correlationId: cause.correlationId, causationId: cause.causationId),
            on: connection)
        return reversed
    }

    /// The gateway refused a reversal: the seller keeps that money, so their balance gets it back,
    /// the platform's losses cover it, and admins are told.
    func reversalRefused(_ command: GatewayCommand, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject), let escrow = try await lock(id: id, on: connection) else { return }
        let losses = command.parameters["losses"] == LedgerAccount.chargebackLosses.description ? LedgerAccount.chargebackLosses : .refundLosses
        var journal = Journal(memo: "reversal on escrow \(command.subject) refused by the gateway")
        journal.debit(losses, command.amount, command.currency)
        journal.credit(.sellerAvailable(escrow.sellerId), command.amount, command.currency)
        guard try await post(journal, source: "reversal-refused:\(command.id.uuidString.lowercased())", on: connection) else { return }
        let chargeback = (command.parameters["purpose"] ?? "").hasPrefix("chargeback-")
        try await connection.query(prepared:
            """
            UPDATE escrows SET reversed_amount = GREATEST(0, reversed_amount - \(command.amount)),
                chargeback_reversed = CASE WHEN \(chargeback) THEN GREATEST(0, chargeback_reversed - \(command.amount))
                    ELSE chargeback_reversed END,
                updated_at = now()
            WHERE id = \(escrow.id)
            """, logger: logger)
        try await flag(escrow, reason: "a reversal of \(command.amount) was refused by the gateway (\(reason)); the platform covered it", on: connection)
    }

    /// Tries again every parked release of a seller (their account changed).
    func retryParked(sellerId: String, cause: Cause, on connection: PostgresConnection) async throws {
        let orders = try await connection.query(prepared:
            "SELECT order_id FROM escrows WHERE seller_id = \(sellerId) AND status = 'parked' ORDER BY created_at", logger: logger
        ).decode(UUID.self).all()
        for order in orders {
            guard let escrow = try await lock(orderId: order, on: connection) else { continue }
            try await release(escrow, cause: cause, on: connection)
        }
    }
}
