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
        handlers: { dependencies in OrderEventHandlers(store: dependencies.orderStore).all },
        routes: { api, dependencies in
            let settings = try OrderSettings(dependencies.configuration)
            ListingsController(store: ListingStore(client: dependencies.postgres, logger: dependencies.logger))
                .addRoutes(to: api)
            OrdersController(
                store: dependencies.orderStore, postgres: dependencies.postgres, idempotency: dependencies.idempotency,
                settings: settings
            ).addRoutes(to: api)
        },
        services: { dependencies in
            [OrderTimers(
                store: dependencies.orderStore, postgres: dependencies.postgres,
                interval: try OrderSettings(dependencies.configuration).timerInterval, logger: dependencies.logger)]
        }
    )
}

extension ServiceDependencies {
    var orderStore: OrderStore {
        OrderStore(logger: logger, topic: topic(Topic.orders))
    }
}
