import EventContracts
import Foundation
import Persistence
import ServiceRuntime
import StripeClient

extension ServiceDefinition {
    /// EscrowService owns the ledger, escrows, disputes, sellers' connected accounts, transfers
    /// and payouts: it decides where money the platform holds goes, and records every movement.
    static let escrowService = ServiceDefinition(
        identity: ServiceIdentity(name: "escrow-service", schema: "escrow", defaultPort: 8083),
        migrations: { try Migration.load(source: "escrow", bundle: .module) },
        consumedTopics: [Topic.payments, Topic.orders],
        assemble: { dependencies in
            let fees = FeePolicy(
                basisPoints: Int64(try dependencies.configuration.setting("ESCROW_FEE_BASIS_POINTS", default: 500)),
                fixedAmount: Int64(try dependencies.configuration.setting("ESCROW_FEE_FIXED_AMOUNT", default: 0)))
            let store = EscrowStore(logger: dependencies.logger)
            let configuration = dependencies.configuration
            let gateway: any EscrowGateway =
                if let key = configuration.stringSetting("STRIPE_SECRET_KEY") {
                    StripeEscrowGateway(
                        client: StripeClient(
                            configuration: .init(secretKey: key, baseURL: configuration.stringSetting("STRIPE_API_BASE") ?? "https://api.stripe.com"),
                            logger: dependencies.logger))
                } else {
                    SimulatedEscrowGateway()
                }
            var parts = ServiceParts()
            parts.handlers = EscrowEventHandlers(store: store, fees: fees, gateway: gateway, topic: dependencies.topic(Topic.escrow)).all
            parts.routes = { api in
                EscrowsController(store: store, postgres: dependencies.postgres).addRoutes(to: api)
                SellersController(postgres: dependencies.postgres).addRoutes(to: api)
            }
            return parts
        }
    )
}
