import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime

/// The durable sender: fires due reminders, takes back interrupted sends, and delivers queued
/// and failed notifications over SMTP with backoff. Everything it needs is in Postgres, so it
/// picks up where it stopped after a restart; several instances share work with SKIP LOCKED.
struct DeliveryLoop: Service, CustomStringConvertible {
    let store: NotificationStore
    let reminders: ReminderFiring
    let client: SMTPClient
    let settings: NotificationSettings
    let postgres: PostgresClient
    let logger: Logger

    var description: String { "DeliveryLoop" }

    func run() async throws {
        try await runPeriodically(every: settings.loopInterval, logger: logger, failure: "delivery loop failed; retrying") {
            try await runDue()
        }
    }

    /// One pass: reminders, interrupted sends, then every due notification.
    func runDue(batch: Int = 20) async throws {
        try await reminders.fireDue()
        let requeued = try await store.requeueInterrupted(olderThan: settings.sendingTimeout, postgres: postgres)
        if requeued > 0 { logger.warning("notifications interrupted while sending are retried", metadata: ["count": "\(requeued)"]) }
        while !Task.isCancelled {
            let claimed = try await store.claim(limit: batch, postgres: postgres)
            for notification in claimed { try await deliver(notification) }
            if claimed.count < batch { return }
        }
    }

    /// Sends one claimed notification and records the outcome right after the server answers.
    func deliver(_ notification: ClaimedNotification) async throws {
        let metadata: Logger.Metadata = [
            "notification_id": "\(notification.id)", "kind": "\(notification.kind)", "attempt": "\(notification.attempts)",
        ]
        do {
            guard let email = notification.email else {
                throw SMTPError(.invalidAddress, "the recipient's address is not known yet")
            }
            try await client.send(
                MailMessage(
                    from: settings.from, to: MailAddress(email: email), subject: notification.subject, text: notification.text,
                    html: notification.html, messageId: notification.messageId, date: Date(),
                    extraHeaders: [("X-Notification-Kind", notification.kind)]))
        } catch {
            let smtp = error as? SMTPError
            // An unknown address may still be learnt from a later event: retried, not dead.
            let unknownAddress = notification.email == nil
            let dead = (smtp?.isPermanent == true && !unknownAddress) || notification.attempts >= settings.maximumAttempts
            let retryIn = settings.backoff(afterAttempts: notification.attempts)
            try await store.markFailed(notification.id, error: "\(error)", dead: dead, retryIn: retryIn, postgres: postgres)
            logger.warning(
                dead ? "notification is dead" : "notification failed; will retry",
                metadata: metadata.merging(["error": "\(error)", "retry_in_seconds": "\(Int(retryIn))"]) { _, new in new })
            return
        }
        try await store.markSent(notification.id, postgres: postgres)
        logger.info("notification sent", metadata: metadata)
    }
}
