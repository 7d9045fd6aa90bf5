import Foundation
import Persistence
import ServiceRuntime

extension ServiceDefinition {
    /// PaymentService owns payments, Stripe webhook events and refunds.
    static let paymentService = ServiceDefinition(
        identity: ServiceIdentity(name: "payment-service", schema: "payments", defaultPort: 8082),
        migrations: { try Migration.load(source: "payments", bundle: .module) }
    )
}
