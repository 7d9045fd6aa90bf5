import Foundation
import Persistence
import ServiceRuntime

extension ServiceDefinition {
    /// OrderService owns listings, stock, checkouts, orders, their history and shipping.
    static let orderService = ServiceDefinition(
        identity: ServiceIdentity(name: "order-service", schema: "orders", defaultPort: 8081),
        migrations: { try Migration.load(source: "orders", bundle: .module) }
    )
}
