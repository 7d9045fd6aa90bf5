import Foundation
import GatewayCommands
import PostgresNIO
import StripeClient

/// The gateway commands EscrowService records, and what each one's outcome does.
enum EscrowCommand {
    /// The transfer of a release (or the seller's part of a split).
    static let releaseTransfer = "release_transfer"
    /// Taking part of a released transfer back (refund after release, chargeback).
    static let reversal = "transfer_reversal"
    /// Paying back what a won chargeback had reversed.
    static let returnTransfer = "chargeback_return_transfer"
    /// A seller's payout to their bank.
    static let payout = "payout"

    static func handlers(escrows: EscrowStore, payouts: PayoutStore) -> [String: any GatewayCommandHandler] {
        [
            releaseTransfer: ReleaseTransferHandler(escrows: escrows),
            reversal: ReversalHandler(escrows: escrows),
            returnTransfer: ReturnTransferHandler(escrows: escrows),
            payout: PayoutHandler(payouts: payouts),
        ]
    }

    /// What every object a command creates carries, to be found again after its key expired.
    static func metadata(_ command: GatewayCommand) -> [String: String] {
        ["command_id": command.id.uuidString.lowercased(), "escrow_market_subject": command.subject]
    }

    /// Makes the command's transfer, looking for it first where the key may have expired.
    static func transfer(_ command: GatewayCommand, gateway: any EscrowGateway) async -> GatewayOutcome {
        await GatewayOutcome.attempt {
            let group = try command.parameter("transfer_group")
            if command.keyMayHaveExpired(),
               let existing = try await gateway.findTransfer(group: group, metadata: "command_id", command.id.uuidString.lowercased())
            {
                return existing.id
            }
            return try await gateway.transfer(
                amount: command.amount, currency: command.currency, destination: try command.parameter("destination"),
                sourceTransaction: command.parameters["source_transaction"], transferGroup: group, metadata: metadata(command),
                idempotencyKey: command.idempotencyKey
            ).id
        }
    }
}

struct ReleaseTransferHandler: GatewayCommandHandler {
    let escrows: EscrowStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await EscrowCommand.transfer(command, gateway: escrows.gateway)
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await escrows.completeRelease(escrowId: id, transferId: objectId, cause: Cause(command), on: connection)
    }

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await escrows.releaseRefused(escrowId: id, reason: "\(code): \(reason)", cause: Cause(command), on: connection)
    }
}

struct ReversalHandler: GatewayCommandHandler {
    let escrows: EscrowStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await GatewayOutcome.attempt {
            let transfer = try command.parameter("transfer")
            if command.keyMayHaveExpired(),
               let existing = try await escrows.gateway.findReversal(of: transfer, metadata: "command_id", command.id.uuidString.lowercased())
            {
                return existing.id
            }
            return try await escrows.gateway.reverseTransfer(
                transfer, amount: command.amount, metadata: EscrowCommand.metadata(command), idempotencyKey: command.idempotencyKey
            ).id
        }
    }

    /// Booked when decided: nothing more to write.
    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {}

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        try await escrows.reversalRefused(command, reason: "\(code): \(reason)", on: connection)
    }
}

struct ReturnTransferHandler: GatewayCommandHandler {
    let escrows: EscrowStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await EscrowCommand.transfer(command, gateway: escrows.gateway)
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await connection.query(
            "UPDATE escrows SET chargeback_return_transfer_id = \(objectId), updated_at = now() WHERE id = \(id)", logger: escrows.logger)
    }

    /// The seller is still owed it (their balance says so): admins decide how to pay it.
    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject), let escrow = try await escrows.lock(id: id, on: connection) else { return }
        try await escrows.flag(
            escrow, reason: "paying back \(command.amount) after a won chargeback was refused by the gateway (\(code): \(reason))",
            on: connection)
    }
}

struct PayoutHandler: GatewayCommandHandler {
    let payouts: PayoutStore

    func execute(_ command: GatewayCommand) async -> GatewayOutcome {
        await GatewayOutcome.attempt {
            try await payouts.escrows.gateway.payout(
                account: try command.parameter("account"), amount: command.amount, currency: command.currency,
                metadata: EscrowCommand.metadata(command), idempotencyKey: command.idempotencyKey
            ).id
        }
    }

    func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await payouts.accepted(id, stripePayoutId: objectId, cause: Cause(command), on: connection)
    }

    func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
        guard let id = UUID(uuidString: command.subject) else { return }
        try await payouts.refused(id, reason: reason, cause: Cause(command), on: connection)
    }
}
