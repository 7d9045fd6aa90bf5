import EventContracts
import Foundation
import Persistence
import ServiceRuntime

extension ServiceDefinition {
    /// EscrowService owns the ledger, escrows, disputes, sellers' connected accounts, transfers
    /// and payouts: it decides where money the platform holds goes, and records every movement.
    static let escrowService = ServiceDefinition(
        identity: ServiceIdentity(name: "escrow-service", schema: "escrow", defaultPort: 8083),
        migrations: { try Migration.load(source: "escrow", bundle: .module) },
        consumedTopics: [Topic.payments],
        assemble: { dependencies in
            let fees = FeePolicy(
                basisPoints: Int64(try dependencies.configuration.setting("ESCROW_FEE_BASIS_POINTS", default: 500)),
                fixedAmount: Int64(try dependencies.configuration.setting("ESCROW_FEE_FIXED_AMOUNT", default: 0)))
            let store = EscrowStore(logger: dependencies.logger)
            var parts = ServiceParts()
            parts.handlers = EscrowEventHandlers(store: store, fees: fees).all
            parts.routes = { api in EscrowsController(store: store, postgres: dependencies.postgres).addRoutes(to: api) }
            return parts
        }
    )
}
