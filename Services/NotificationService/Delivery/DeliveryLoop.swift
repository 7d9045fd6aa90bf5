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
    /// Each sender's SMTP connection, kept from one pass to the next.
    let idle: IdleSMTPSessions

    init(
        store: NotificationStore, reminders: ReminderFiring, client: SMTPClient, settings: NotificationSettings,
        postgres: PostgresClient, logger: Logger
    ) {
        self.store = store
        self.reminders = reminders
        self.client = client
        self.settings = settings
        self.postgres = postgres
        self.logger = logger
        idle = IdleSMTPSessions(idleLimit: settings.smtpIdle)
    }

    var description: String { "DeliveryLoop" }

    func run() async throws {
        do {
            try await runPeriodically(every: settings.loopInterval, logger: logger, failure: "delivery loop failed; retrying") {
                try await runDue()
            }
        } catch {
            await idle.closeAll()
            throw error
        }
        await idle.closeAll()
    }

    /// One pass: reminders, interrupted sends, then the due notifications, sent by
    /// `settings.senders` workers that each claim a few at a time (`claimBatch`, sent in well
    /// under `sendingTimeout`). A pass stops claiming after `budget`, well inside the
    /// pass timeout of `runPeriodically`, so a long backlog is sent over several passes and no pass
    /// is abandoned with a send in hand.
    func runDue(budget: Duration = .seconds(30)) async throws {
        try await reminders.fireDue()
        let requeued = try await store.requeueInterrupted(
            olderThan: settings.sendingTimeout, maximumAttempts: settings.maximumAttempts, postgres: postgres)
        if requeued > 0 { logger.warning("notifications interrupted while sending are retried", metadata: ["count": "\(requeued)"]) }
        let deadline = ContinuousClock.now + budget
        await idle.closeStale()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<settings.senders {
                group.addTask {
                    // Each sender keeps one SMTP connection for the pass, and for the next pass
                    // unless the pass failed.
                    var session = idle.take()
                    do {
                        while !Task.isCancelled, ContinuousClock.now < deadline {
                            let claimed = try await store.claim(limit: settings.claimBatch, postgres: postgres)
                            if claimed.isEmpty { break }
                            for notification in claimed { try await deliver(notification, over: &session) }
                        }
                    } catch {
                        await session.close()
                        throw error
                    }
                    if settings.smtpIdle > .zero { idle.put(session) } else { await session.close() }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Sends one claimed notification and records the outcome right after the server answers.
    func deliver(_ notification: ClaimedNotification, over session: inout SMTPSession) async throws {
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
                    extraHeaders: [("X-Notification-Kind", notification.kind)]),
                over: &session)
        } catch {
            let smtp = error as? SMTPError
            // An unknown address may still be learnt from a later event (which wakes it): it
            // waits, backing off, and is never dead for it.
            let unknownAddress = notification.email == nil
            let dead = !unknownAddress && (smtp?.isPermanent == true || notification.attempts >= settings.maximumAttempts)
            let retryIn = settings.backoff(afterAttempts: notification.attempts)
            try await store.markFailed(notification, error: "\(error)", dead: dead, retryIn: retryIn, postgres: postgres)
            logger.warning(
                dead ? "notification is dead" : "notification failed; will retry",
                metadata: metadata.merging(["error": "\(error)", "retry_in_seconds": "\(Int(retryIn))"]) { _, new in new })
            return
        }
        // The server has it: record that now, retrying a failing database briefly, since every
        // moment between the two is the window in which a crash would send it again.
        for attempt in 1...5 {
            do {
                try await store.markSent(notification, postgres: postgres)
                break
            } catch {
                if attempt == 5 { throw error }
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        logger.info("notification sent", metadata: metadata)
    }
}
