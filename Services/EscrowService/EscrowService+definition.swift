import Foundation
import Persistence
import ServiceRuntime

extension ServiceDefinition {
    /// EscrowService owns the ledger, escrows, disputes, sellers' connected accounts, transfers and payouts.
    static let escrowService = ServiceDefinition(
        identity: ServiceIdentity(name: "escrow-service", schema: "escrow", defaultPort: 8083),
        migrations: { try Migration.load(source: "escrow", bundle: .module) }
    )
}
