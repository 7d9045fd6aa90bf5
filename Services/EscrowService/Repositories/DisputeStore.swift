import EventContracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import PostgresNIO

/// A buyer's dispute over an order, with the evidence both sides and admins add.
struct Dispute: Sendable, Encodable, ResponseEncodable {
    struct Message: Sendable, Encodable {
        var authorId: String
        var authorRole: String
        var body: String
        var createdAt: Date
    }

    var id: UUID
    var orderId: UUID
    var escrowId: UUID
    var buyerId: String
    var sellerId: String
    var reason: String
    var description: String
    var status: String
    var outcome: DisputeOutcome?
    var refundAmount: Int64?
    var releaseAmount: Int64?
    var resolutionNote: String?
    var resolvedBy: String?
    var createdAt: Date
    var resolvedAt: Date?
    var messages: [Message]?

    static let columns = """
        id, order_id, escrow_id, buyer_id, seller_id, reason, description, status, outcome, refund_amount, release_amount,
        resolution_note, resolved_by, created_at, resolved_at
        """

    init(row: PostgresRow) throws {
        let cells = row.makeRandomAccess()
        id = try cells["id"].decode(UUID.self)
        orderId = try cells["order_id"].decode(UUID.self)
        escrowId = try cells["escrow_id"].decode(UUID.self)
        buyerId = try cells["buyer_id"].decode(String.self)
        sellerId = try cells["seller_id"].decode(String.self)
        reason = try cells["reason"].decode(String.self)
        description = try cells["description"].decode(String.self)
        status = try cells["status"].decode(String.self)
        outcome = try cells["outcome"].decode(String?.self).flatMap(DisputeOutcome.init(rawValue:))
        refundAmount = try cells["refund_amount"].decode(Int64?.self)
        releaseAmount = try cells["release_amount"].decode(Int64?.self)
        resolutionNote = try cells["resolution_note"].decode(String?.self)
        resolvedBy = try cells["resolved_by"].decode(String?.self)
        createdAt = try cells["created_at"].decode(Date.self)
        resolvedAt = try cells["resolved_at"].decode(Date?.self)
    }

    func visible(to user: AuthenticatedUser) -> Bool { user.isAdmin || user.id == buyerId || user.id == sellerId }
}

/// Disputes in Postgres. Opening freezes the escrow; resolving settles it (refund, release or
/// split) in the same transaction.
struct DisputeStore: Sendable {
    let escrows: EscrowStore
    var logger: Logger { escrows.logger }

    static let reasons: Set<String> = ["not_received", "not_as_described", "damaged", "unauthorized", "other"]

    /// The buyer opens a dispute before release: the escrow is frozen and `dispute.opened` published.
    func open(orderId: UUID, reason: String, description: String, buyer: AuthenticatedUser, cause: Cause, on connection: PostgresConnection) async throws -> Dispute {
        guard let escrow = try await escrows.lock(orderId: orderId, on: connection), escrow.buyerId == buyer.id else {
            throw Problem.notFound("No paid order \(orderId.uuidString.lowercased()) of yours.")
        }
        guard escrow.status.holdsFunds && escrow.releasedGross == 0 else {
            throw Problem.conflict(
                "The order's escrow is \(escrow.status.rawValue); a dispute can only be opened before release.",
                extensions: ["currentState": escrow.status.rawValue])
        }
        guard escrow.disputeId == nil else {
            throw Problem.conflict("A dispute is already open for this order.", extensions: ["disputeId": escrow.disputeId?.uuidString.lowercased() ?? ""])
        }
        guard escrow.chargebackId == nil else {
            throw Problem.conflict("A card chargeback is already open on this payment; it will decide the outcome.")
        }
        let id = UUID()
        let rows = try await connection.query(
            """
            INSERT INTO disputes (id, escrow_id, order_id, buyer_id, seller_id, reason, description, status)
            VALUES (\(id), \(escrow.id), \(orderId), \(buyer.id), \(escrow.sellerId), \(reason), \(description), 'open')
            RETURNING \(unescaped: Dispute.columns)
            """, logger: logger
        ).collect()
        try await connection.query(
            "UPDATE escrows SET dispute_id = \(id), updated_at = now() WHERE id = \(escrow.id)", logger: logger)
        try await escrows.publish(
            DisputeOpened(
                disputeId: id, orderId: orderId, reason: reason, buyerId: buyer.id, sellerId: escrow.sellerId, description: description,
                amount: escrow.grossAmount, currency: escrow.currency),
            aggregateId: orderId.uuidString.lowercased(), cause: cause, on: connection)
        logger.info("dispute opened", metadata: ["dispute_id": "\(id)", "order_id": "\(orderId)"])
        var dispute = try Dispute(row: rows[0])
        dispute.messages = []
        return dispute
    }

    func find(_ id: UUID, lock: Bool = false, withMessages: Bool = true, on connection: PostgresConnection) async throws -> Dispute? {
        guard let row = try await connection.query(
            "SELECT \(unescaped: Dispute.columns) FROM disputes WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")", logger: logger
        ).collect().first else { return nil }
        var dispute = try Dispute(row: row)
        if withMessages {
            dispute.messages = try await connection.query(
                "SELECT author_id, author_role, body, created_at FROM dispute_messages WHERE dispute_id = \(id) ORDER BY id", logger: logger
            ).decode((String, String, String, Date).self).all().map {
                Dispute.Message(authorId: $0.0, authorRole: $0.1, body: $0.2, createdAt: $0.3)
            }
        }
        return dispute
    }

    private func reloaded(_ id: UUID, on connection: PostgresConnection) async throws -> Dispute {
        guard let dispute = try await find(id, on: connection) else { throw Problem.notFound("No dispute \(id.uuidString.lowercased()).") }
        return dispute
    }

    /// Evidence from a party or an admin, while the dispute is open.
    func addMessage(to id: UUID, body: String, author: AuthenticatedUser, on connection: PostgresConnection) async throws -> Dispute {
        guard let dispute = try await find(id, lock: true, withMessages: false, on: connection), dispute.visible(to: author) else {
            throw Problem.notFound("No dispute \(id.uuidString.lowercased()).")
        }
        guard dispute.status == "open" else {
            throw Problem.conflict("The dispute is resolved; it takes no more messages.", extensions: ["currentState": dispute.status])
        }
        let role = author.isAdmin ? "admin" : author.id == dispute.buyerId ? "buyer" : "seller"
        try await connection.query(
            "INSERT INTO dispute_messages (dispute_id, author_id, author_role, body) VALUES (\(id), \(author.id), \(role), \(body))",
            logger: logger)
        return try await reloaded(id, on: connection)
    }

    /// The admin queue: open disputes first, oldest first.
    func queue(status: String?, page: PageRequest, on connection: PostgresConnection) async throws -> Page<Dispute> {
        let cursor = page.cursor
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Dispute.columns) FROM disputes
            WHERE (\(status)::text IS NULL OR status = \(status))
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (created_at, id) > (\(cursor?.createdAt), \(cursor?.id)))
            ORDER BY created_at, id LIMIT \(page.limit + 1)
            """, logger: logger
        ).collect().map(Dispute.init(row:))
        return Page(rows: rows, limit: page.limit, cursor: { PageCursor(createdAt: $0.createdAt, id: $0.id) }, item: { $0 })
    }

    /// A party's disputes (as buyer or seller), newest first, without their messages.
    func of(party: String, status: String?, orderId: UUID?, page: PageRequest, on connection: PostgresConnection) async throws -> Page<Dispute> {
        let cursor = page.cursor
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Dispute.columns) FROM disputes
            WHERE (buyer_id = \(party) OR seller_id = \(party))
              AND (\(status)::text IS NULL OR status = \(status)) AND (\(orderId)::uuid IS NULL OR order_id = \(orderId))
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (created_at, id) < (\(cursor?.createdAt), \(cursor?.id)))
            ORDER BY created_at DESC, id DESC LIMIT \(page.limit + 1)
            """, logger: logger
        ).collect().map(Dispute.init(row:))
        return Page(rows: rows, limit: page.limit, cursor: { PageCursor(createdAt: $0.createdAt, id: $0.id) }, item: { $0 })
    }

    /// An admin decides: the buyer's part goes back through `refund.requested`, the seller's
    /// through a transfer (less its share of the fee), and `dispute.resolved` is published.
    func resolve(
        _ id: UUID, outcome: DisputeOutcome, refundAmount: Int64?, note: String?, admin: AuthenticatedUser, cause: Cause,
        on connection: PostgresConnection
    ) async throws -> Dispute {
        guard let dispute = try await find(id, lock: true, withMessages: false, on: connection) else {
            throw Problem.notFound("No dispute \(id.uuidString.lowercased()).")
        }
        guard dispute.status == "open" else {
            throw Problem.conflict("The dispute is already resolved (\(dispute.outcome?.rawValue ?? "-")).", extensions: ["currentState": dispute.status])
        }
        guard var escrow = try await escrows.lock(orderId: dispute.orderId, on: connection) else {
            throw Problem.notFound("No escrow for order \(dispute.orderId.uuidString.lowercased()).")
        }
        guard escrow.chargebackId == nil else {
            throw Problem.conflict("A card chargeback is open on this payment; resolve the dispute after it closes.")
        }
        let settlement: Settlement
        do {
            settlement = try Settlement.divide(
                outcome, held: escrow.unallocated, gross: escrow.grossAmount, fee: escrow.feeAmount, refundAmount: refundAmount)
        } catch .refundAmountRequired {
            throw Problem.validation("A split needs refundAmount (minor units).")
        } catch .refundAmountOutOfRange(let held) {
            throw Problem.validation("refundAmount must be from 1 to \(held - 1): the escrow holds \(held).")
        } catch .refundAmountNotAllowed {
            throw Problem.validation("refundAmount is only for outcome split (refund returns everything held, release nothing).")
        }
        try await connection.query(
            """
            UPDATE disputes SET status = 'resolved', outcome = \(outcome.rawValue), refund_amount = \(settlement.refund),
                release_amount = \(settlement.releaseGross), resolution_note = \(note), resolved_by = \(admin.id), resolved_at = now()
            WHERE id = \(id)
            """, logger: logger)
        try await connection.query("UPDATE escrows SET dispute_id = NULL WHERE id = \(escrow.id)", logger: logger)
        escrow.disputeId = nil
        if settlement.refund > 0 {
            escrow = try await escrows.requestRefund(
                escrow, amount: settlement.refund, reason: "dispute \(id.uuidString.lowercased()) resolved: \(outcome.rawValue)",
                cause: cause, on: connection)
        }
        if settlement.releaseGross > 0 {
            try await escrows.release(escrow, cause: cause, on: connection)
        }
        try await escrows.publish(
            DisputeResolved(
                outcome: outcome.rawValue, disputeId: id, orderId: dispute.orderId, buyerId: dispute.buyerId, sellerId: dispute.sellerId,
                refundAmount: settlement.refund, releaseAmount: settlement.releaseGross, currency: escrow.currency, note: note),
            aggregateId: dispute.orderId.uuidString.lowercased(), cause: cause, on: connection)
        logger.info(
            "dispute resolved",
            metadata: ["dispute_id": "\(id)", "outcome": "\(outcome.rawValue)", "refund": "\(settlement.refund)", "release": "\(settlement.releaseGross)"])
        return try await reloaded(id, on: connection)
    }
}
