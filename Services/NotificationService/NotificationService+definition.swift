import EventContracts
import Foundation
import Persistence
import ServiceRuntime

extension ServiceDefinition {
    /// NotificationService owns notifications, their delivery state and receipts. It never calls
    /// the other services: what it mails comes from their events, kept in its own projection.
    static let notificationService = ServiceDefinition(
        identity: ServiceIdentity(name: "notification-service", schema: "notifications", defaultPort: 8084),
        migrations: { try Migration.load(source: "notifications", bundle: .module) },
        consumedTopics: [Topic.orders, Topic.payments, Topic.escrow],
        openAPIDocument: { try OpenAPIDocument.load(bundle: .module) },
        assemble: { dependencies in
            let settings = try NotificationSettings(dependencies.configuration)
            let logger = dependencies.logger
            let handlers = try NotificationEventHandlers(settings: settings, logger: logger)
            var parts = ServiceParts()
            parts.handlers = handlers.all
            parts.routes = { api in
                ReceiptsController(
                    store: handlers.receipts, postgres: dependencies.postgres,
                    platform: .init(name: settings.platformName, address: settings.platformAddress)
                ).addRoutes(to: api)
                NotificationsController(postgres: dependencies.postgres).addRoutes(to: api)
            }
            parts.services = [
                DeliveryLoop(
                    store: handlers.notifier.store,
                    reminders: ReminderFiring(
                        reminders: handlers.reminders, projection: handlers.projection, notifier: handlers.notifier,
                        postgres: dependencies.postgres, logger: logger),
                    client: SMTPClient(settings: settings.smtp, logger: logger), settings: settings,
                    postgres: dependencies.postgres, logger: logger)
            ]
            logger.info(
                "mail settings",
                metadata: [
                    "smtp_host": "\(settings.smtp.host)", "smtp_port": "\(settings.smtp.port)",
                    "smtp_starttls": "\(settings.smtp.startTLS)", "smtp_auth": "\(settings.smtp.username != nil)",
                ])
            return parts
        }
    )
}
