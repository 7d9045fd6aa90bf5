import EventContracts
import Foundation
import Messaging
import PostgresNIO
import StripeClient

extension EscrowStore {
    /// Records a seller's account state unless a newer report was already applied; returns the seller.
    func updateAccount(_ event: GatewayAccountUpdated, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query(
            """
            UPDATE seller_accounts SET charges_enabled = \(event.chargesEnabled), payouts_enabled = \(event.payoutsEnabled),
                details_submitted = \(event.detailsSubmitted), currently_due = \(event.currentlyDue),
                stripe_created = \(event.stripeCreated), updated_at = now()
            WHERE account_id = \(event.accountId) AND stripe_created <= \(event.stripeCreated)
            RETURNING seller_id
            """, logger: logger
        ).decode(String.self).all()
        return rows.first
    }

    /// Tries to release the order's escrow: a transfer of the net to the seller, then the
    /// ledger moves held → platform fees + seller available, and `escrow.released` is published.
    /// When something blocks it, the escrow is parked with the reason and retried later.
    func release(
        orderId: UUID, gateway: any EscrowGateway, topic: String, correlationId: String, causationId: String?,
        on connection: PostgresConnection
    ) async throws {
        let rows = try await connection.query(
            """
            SELECT e.id, e.status, e.seller_id, e.currency, e.gross_amount, e.fee_amount, e.net_amount, e.charge_id, e.checkout_id,
                a.account_id, a.payouts_enabled
            FROM escrows e LEFT JOIN seller_accounts a ON a.seller_id = e.seller_id
            WHERE e.order_id = \(orderId) FOR UPDATE OF e
            """, logger: logger
        ).decode((UUID, String, String, String, Int64, Int64, Int64, String?, UUID, String?, Bool?).self).all()
        guard let (id, status, seller, currency, gross, fee, net, charge, checkout, account, payoutsEnabled) = rows.first else {
            logger.warning("delivery for an order without escrow", metadata: ["order_id": "\(orderId)"])
            return
        }
        guard status == "held" || status == "parked" else { return }
        let blocker: String? =
            if account == nil { "seller has no connected account" }
            else if payoutsEnabled != true { "seller's account cannot receive payouts yet" }
            else { nil }
        if let blocker {
            try await connection.query(
                "UPDATE escrows SET status = 'parked', parked_reason = \(blocker), delivered_at = COALESCE(delivered_at, now()), updated_at = now() WHERE id = \(id)",
                logger: logger)
            logger.info("escrow release parked", metadata: ["escrow_id": "\(id)", "reason": "\(blocker)"])
            return
        }
        let transfer = try await gateway.transfer(
            amount: net, currency: currency, destination: account!, sourceTransaction: charge,
            transferGroup: checkout.uuidString.lowercased(), idempotencyKey: "escrow-\(id.uuidString.lowercased())-release")
        try await connection.query(
            """
            UPDATE escrows SET status = 'released', transfer_id = \(transfer.id), parked_reason = NULL, released_at = now(),
                delivered_at = COALESCE(delivered_at, now()), updated_at = now()
            WHERE id = \(id)
            """, logger: logger)
        var journal = Journal(memo: "escrow \(id.uuidString.lowercased()) released")
        journal.debit(.escrowHeld(id.uuidString.lowercased()), gross, currency)
        if fee > 0 { journal.credit(.platformFees, fee, currency) }
        if net > 0 { journal.credit(.sellerAvailable(seller), net, currency) }
        try await post(journal, source: "release:\(id.uuidString.lowercased())", on: connection)
        let envelope = try EventEnvelope(
            payload: EscrowReleased(escrowId: id, orderId: orderId, sellerId: seller, amount: net, currency: currency),
            aggregateId: orderId.uuidString.lowercased(), correlationId: correlationId, causationId: causationId,
            producer: "escrow-service")
        try await Outbox.append(envelope, topic: topic, on: connection, logger: logger)
        logger.info("escrow released", metadata: ["escrow_id": "\(id)", "transfer": "\(transfer.id)", "net": "\(net)"])
    }

    /// Orders whose escrow waits for this seller's account.
    func parkedOrders(sellerId: String, on connection: PostgresConnection) async throws -> [UUID] {
        try await connection.query(
            "SELECT order_id FROM escrows WHERE seller_id = \(sellerId) AND status = 'parked' ORDER BY created_at", logger: logger
        ).decode(UUID.self).all()
    }

    func linkAccount(sellerId: String, accountId: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "INSERT INTO seller_accounts (seller_id, account_id) VALUES (\(sellerId), \(accountId)) ON CONFLICT (seller_id) DO NOTHING",
            logger: logger)
    }
}
