import EventContracts
import Foundation
import Persistence
import ServiceRuntime

extension ServiceDefinition {
    /// OrderService owns listings, stock, checkouts, orders, their history and shipping.
    static let orderService = ServiceDefinition(
        identity: ServiceIdentity(name: "order-service", schema: "orders", defaultPort: 8081),
        migrations: { try Migration.load(source: "orders", bundle: .module) },
        consumedTopics: [Topic.payments, Topic.escrow],
        openAPIDocument: { try OpenAPIDocument.load(bundle: .module) },
        assemble: { dependencies in
            let settings = try OrderSettings(dependencies.configuration)
            let store = OrderStore(logger: dependencies.logger, topic: dependencies.topic(Topic.orders))
            var parts = ServiceParts()
            parts.handlers = OrderEventHandlers(store: store).all
            parts.routes = { api in
                ListingsController(store: ListingStore(client: dependencies.postgres, logger: dependencies.logger))
                    .addRoutes(to: api)
                OrdersController(
                    store: store, postgres: dependencies.postgres, idempotency: dependencies.idempotency, settings: settings
                ).addRoutes(to: api)
            }
            parts.services = [
                OrderTimers(store: store, postgres: dependencies.postgres, interval: settings.timerInterval, logger: dependencies.logger)
            ]
            return parts
        }
    )
}
