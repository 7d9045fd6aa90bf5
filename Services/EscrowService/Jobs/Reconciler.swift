import EventContracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import StripeClient

/// Compares the ledger and the escrows with the gateway's records (charges, transfers,
/// refunds, payouts) and reports each discrepancy. Reports are kept; the latest is readable.
struct Reconciler: Sendable {
    typealias Discrepancy = ReconciliationCompleted.Discrepancy

    struct Report: Sendable, Encodable, ResponseEncodable {
        var id: UUID
        var requestedBy: String
        var startedAt: Date
        var finishedAt: Date?
        var checked: Int
        var discrepancies: [Discrepancy]
    }

    let escrows: EscrowStore
    let postgres: PostgresClient
    var logger: Logger { escrows.logger }
    var gateway: any EscrowGateway { escrows.gateway }

    /// Runs a full comparison of the most recent 5,000 escrows and payouts.
    func run(requestedBy: String, cause: Cause) async throws -> Report {
        var report = Report(id: UUID(), requestedBy: requestedBy, startedAt: Date(), checked: 0, discrepancies: [])
        try await postgres.query(
            "INSERT INTO reconciliation_runs (id, requested_by, started_at) VALUES (\(report.id), \(requestedBy), \(report.startedAt))",
            logger: logger)
        let escrowRows = try await postgres.query(
            "SELECT \(unescaped: Escrow.columns) FROM escrows ORDER BY created_at DESC LIMIT 5000", logger: logger
        ).collect().map(Escrow.init(row:))
        let (held, imbalance, accounts) = try await postgres.withConnection { connection in
            // The checked escrows' held accounts only (one index lookup each), as the entries sum
            // them and as the balances the ledger keeps for the held gauge have them.
            let held = try await connection.query(
                """
                SELECT substring(a.account FROM 13),
                    COALESCE(-(SELECT sum(amount) FROM journal_entries e WHERE e.account = a.account), 0)::int8,
                    COALESCE(-(SELECT sum(balance) FROM escrow_held_balances b WHERE b.account = a.account), 0)::int8
                FROM unnest(\(escrowRows.map { LedgerAccount.escrowHeld($0.id).description })::text[]) AS a(account)
                """, logger: logger
            ).decode((String, Int64, Int64).self).all().map { ($0.0, (entries: $0.1, kept: $0.2)) }
            let accounts = try await connection.query("SELECT seller_id, account_id FROM seller_accounts", logger: logger)
                .decode((String, String).self).all()
            return (Dictionary(uniqueKeysWithValues: held), try await escrows.imbalance(on: connection), Dictionary(uniqueKeysWithValues: accounts))
        }
        var found: [Discrepancy] = []
        for (currency, sum) in imbalance.sorted(by: { $0.key < $1.key }) {
            found.append(.init(kind: "ledger", reference: currency, expected: "entries sum to 0", actual: "\(sum)"))
        }
        // The ledger per currency (one check), then each kept held balance against the entries.
        var checked = 1 + held.count
        for (escrow, balance) in held.sorted(by: { $0.key < $1.key }) where balance.kept != balance.entries {
            found.append(.init(
                kind: "ledger", reference: "escrow \(escrow)", expected: "kept balance \(balance.entries)", actual: "kept balance \(balance.kept)"))
        }
        // Held funds per escrow, where the escrow's state says exactly what they must be.
        for escrow in escrowRows where escrow.refundRequested == 0 && escrow.chargebackAmount == 0 {
            let expected: Int64? =
                switch escrow.status {
                case .held, .parked: escrow.grossAmount
                // What a release left (a split whose refund failed, even after it succeeded, is held again).
                case .released: escrow.grossAmount - escrow.releasedGross
                case .refunded: 0
                default: nil
                }
            guard let expected else { continue }
            checked += 1
            let actual = held[escrow.id.uuidString.lowercased()]?.entries ?? 0
            if actual != expected {
                found.append(.init(kind: "ledger", reference: "escrow \(escrow.id.uuidString.lowercased())", expected: "held \(expected)", actual: "held \(actual)"))
            }
        }
        // Transfers.
        for escrow in escrowRows {
            guard let transferId = escrow.transferId else { continue }
            checked += 1
            do {
                let transfer = try await gateway.retrieveTransfer(transferId)
                if transfer.amount != escrow.releasedNet {
                    found.append(.init(kind: "transfer", reference: transferId, expected: "amount \(escrow.releasedNet)", actual: "amount \(transfer.amount)"))
                }
                if transfer.amount_reversed != escrow.reversedAmount {
                    found.append(.init(kind: "transfer", reference: transferId, expected: "reversed \(escrow.reversedAmount)", actual: "reversed \(transfer.amount_reversed)"))
                }
                if let destination = transfer.destination?.id, destination != accounts[escrow.sellerId] {
                    found.append(.init(kind: "transfer", reference: transferId, expected: "destination \(accounts[escrow.sellerId] ?? "-")", actual: "destination \(destination)"))
                }
            } catch {
                found.append(.init(kind: "transfer", reference: transferId, expected: "exists at the gateway", actual: "\(error.kind.rawValue): \(error.message)"))
            }
        }
        // Transfers paying back what a won chargeback had reversed.
        for escrow in escrowRows {
            guard let transferId = escrow.chargebackReturnTransferId else { continue }
            checked += 1
            do {
                let transfer = try await gateway.retrieveTransfer(transferId)
                if transfer.amount - transfer.amount_reversed != escrow.chargebackReversed {
                    found.append(.init(
                        kind: "transfer", reference: transferId, expected: "amount \(escrow.chargebackReversed)",
                        actual: "amount \(transfer.amount - transfer.amount_reversed)"))
                }
            } catch {
                found.append(.init(kind: "transfer", reference: transferId, expected: "exists at the gateway", actual: "\(error.kind.rawValue): \(error.message)"))
            }
        }
        // Charges and their refunds.
        for (chargeId, parts) in Dictionary(grouping: escrowRows.filter { $0.chargeId != nil }, by: { $0.chargeId ?? "" }) {
            guard let stripe = await charge(chargeId, kind: "charge", found: &found) else { continue }
            checked += 1
            // The card was charged what store credit did not pay, and refunded what did not go back to the wallet.
            let gross = parts.reduce(0) { $0 + $1.grossAmount - $1.walletAmount }
            let refunded = parts.reduce(0) { $0 + $1.refundedAmount - $1.walletRefunded }
            if stripe.amount != gross {
                found.append(.init(kind: "charge", reference: chargeId, expected: "amount \(gross)", actual: "amount \(stripe.amount)"))
            }
            if stripe.amount_refunded != refunded {
                found.append(.init(kind: "refund", reference: chargeId, expected: "refunded \(refunded)", actual: "refunded \(stripe.amount_refunded)"))
            }
        }
        // Top-ups: the card charge behind store credit is at the gateway, whole and not refunded.
        let topUps = try await postgres.query(
            "SELECT top_up_id, amount, charge_id FROM wallet_top_ups ORDER BY created_at DESC LIMIT 5000", logger: logger
        ).decode((UUID, Int64, String?).self).all()
        for (topUp, amount, chargeId) in topUps {
            guard let chargeId else {
                found.append(.init(kind: "top-up", reference: topUp.uuidString.lowercased(), expected: "a charge", actual: "none recorded"))
                continue
            }
            guard let stripe = await charge(chargeId, kind: "top-up", found: &found) else { continue }
            checked += 1
            if stripe.amount != amount || stripe.amount_refunded != 0 || !stripe.paid {
                found.append(.init(
                    kind: "top-up", reference: chargeId, expected: "paid, amount \(amount), nothing refunded",
                    actual: "\(stripe.paid ? "paid" : "not paid"), amount \(stripe.amount), refunded \(stripe.amount_refunded)"))
            }
        }
        // Payouts the gateway has accepted.
        let payouts = try await postgres.query(
            "SELECT \(unescaped: PayoutRecord.columns) FROM payouts WHERE stripe_payout_id IS NOT NULL ORDER BY created_at DESC LIMIT 5000",
            logger: logger
        ).collect().map(PayoutRecord.init(row:))
        for payout in payouts {
            guard let stripeId = payout.stripePayoutId else { continue }
            checked += 1
            do {
                let remote = try await gateway.retrievePayout(stripeId, account: payout.accountId)
                if remote.amount != payout.amount {
                    found.append(.init(kind: "payout", reference: stripeId, expected: "amount \(payout.amount)", actual: "amount \(remote.amount)"))
                }
                if Self.payoutState(remote.status) != payout.status {
                    found.append(.init(kind: "payout", reference: stripeId, expected: "status \(payout.status)", actual: "status \(remote.status)"))
                }
            } catch {
                found.append(.init(kind: "payout", reference: stripeId, expected: "exists at the gateway", actual: "\(error.kind.rawValue): \(error.message)"))
            }
        }
        // Money movements decided but still without an outcome after ten minutes: the gateway keeps
        // failing them (see GET /api/v1/admin/gateway-commands).
        let stuck = try await postgres.query(
            """
            SELECT kind, subject, attempts, COALESCE(last_error, '') FROM gateway_commands
            WHERE status = 'pending' AND created_at < now() - interval '10 minutes' ORDER BY created_at LIMIT 500
            """, logger: logger
        ).decode((String, String, Int32, String).self).all()
        checked += 1
        for (kind, subject, attempts, error) in stuck {
            found.append(.init(
                kind: "command", reference: "\(kind) \(subject)", expected: "an outcome from the gateway",
                actual: "pending after \(attempts) attempts: \(error.prefix(200))"))
        }
        report.checked = checked
        report.discrepancies = found
        report.finishedAt = Date()
        let finished = report
        try await postgres.inTransaction(logger: logger) { connection in
            try await connection.query(
                """
                UPDATE reconciliation_runs SET finished_at = \(finished.finishedAt), checked = \(finished.checked),
                    discrepancies = \(String(decoding: try JSONEncoder().encode(finished.discrepancies), as: UTF8.self))::jsonb
                WHERE id = \(finished.id)
                """, logger: logger)
            try await escrows.publish(
                ReconciliationCompleted(runId: finished.id, checked: finished.checked, discrepancies: finished.discrepancies),
                aggregateId: finished.id.uuidString.lowercased(), cause: cause, on: connection)
        }
        logger.info("reconciliation finished", metadata: ["run_id": "\(report.id)", "checked": "\(checked)", "discrepancies": "\(found.count)"])
        return report
    }

    /// Our payout state for a gateway status.
    /// The charge at the gateway, or a discrepancy saying why it could not be read.
    private func charge(_ id: String, kind: String, found: inout [Discrepancy]) async -> Charge? {
        do {
            return try await gateway.retrieveCharge(id)
        } catch {
            found.append(.init(kind: kind, reference: id, expected: "exists at the gateway", actual: "\(error.kind.rawValue): \(error.message)"))
            return nil
        }
    }

    static func payoutState(_ status: String) -> String {
        switch status {
        case "paid": "paid"
        case "failed", "canceled": "failed"
        default: "in_transit"
        }
    }

    func latest(on connection: PostgresConnection) async throws -> Report? {
        let rows = try await connection.query(
            """
            SELECT id, requested_by, started_at, finished_at, checked, discrepancies::text FROM reconciliation_runs
            WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1
            """, logger: logger
        ).decode((UUID, String, Date, Date?, Int, String).self).all()
        guard let row = rows.first else { return nil }
        return Report(
            id: row.0, requestedBy: row.1, startedAt: row.2, finishedAt: row.3, checked: row.4,
            discrepancies: try JSONDecoder().decode([Discrepancy].self, from: Data(row.5.utf8)))
    }
}
