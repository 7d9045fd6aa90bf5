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
            let projection = ProjectionStore(logger: logger)
            let receipts = ReceiptStore(logger: logger, projection: projection)
            let reminders = ReminderStore(logger: logger)
            let store = NotificationStore(logger: logger, messageIdDomain: settings.messageIdDomain)
            let notifier = Notifier(
                renderer: try EmailRenderer(platformName: settings.platformName, platformAddress: settings.platformAddress),
                store: store, models: EmailModels(linkBaseURL: settings.linkBaseURL), adminEmail: settings.adminEmail)
            var parts = ServiceParts()
            parts.handlers = NotificationEventHandlers(
                projection: projection, receipts: receipts, reminders: reminders, notifier: notifier, settings: settings
            ).all
            parts.routes = { api in
                ReceiptsController(
                    store: receipts, postgres: dependencies.postgres,
                    platform: .init(name: settings.platformName, address: settings.platformAddress)
                ).addRoutes(to: api)
                NotificationsController(postgres: dependencies.postgres).addRoutes(to: api)
            }
            parts.services = [
                DeliveryLoop(
                    store: store,
                    reminders: ReminderFiring(
                        reminders: reminders, projection: projection, notifier: notifier, postgres: dependencies.postgres,
                        logger: logger),
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
