import Foundation
import Persistence
import ServiceRuntime

extension ServiceDefinition {
    /// NotificationService owns notifications, their delivery state and receipts.
    static let notificationService = ServiceDefinition(
        identity: ServiceIdentity(name: "notification-service", schema: "notifications", defaultPort: 8084),
        migrations: { try Migration.load(source: "notifications", bundle: .module) }
    )
}
