import Foundation
import ServiceRuntime

/// NotificationService's own settings, from the environment (every one has a local default).
struct NotificationSettings: Sendable {
    var smtp: SMTPSettings
    var from: MailAddress
    /// Where admin notifications (disputes, chargebacks, reconciliation) go.
    var adminEmail: String
    /// The web app's base URL, for links in emails (no trailing slash).
    var linkBaseURL: String
    /// The platform's name and postal address, printed on receipts and in every footer.
    var platformName: String
    var platformAddress: String
    /// The domain of our Message-IDs.
    var messageIdDomain: String
    /// The seller is reminded to ship this long after payment (default 3 days).
    var shipReminderDelay: TimeInterval
    /// The buyer is reminded this long before the automatic delivery confirmation (default 2 days).
    var confirmReminderLead: TimeInterval
    /// How often the delivery loop looks for due mail and reminders.
    var loopInterval: Duration
    /// Retry backoff: base × 2^(attempt − 1), at most `retryMaximum`.
    var retryBase: TimeInterval
    var retryMaximum: TimeInterval
    /// After this many failed attempts a notification is `dead`.
    var maximumAttempts: Int
    /// A notification left `sending` this long (the instance died mid-send) is retried.
    var sendingTimeout: TimeInterval
    /// How many emails are sent at once (each its own SMTP connection), NOTIFY_SENDERS.
    var senders: Int
    /// A sender's SMTP connection is kept for the next pass until it has sent nothing for this
    /// long, SMTP_IDLE_SECONDS (0-300, default 30; 0 closes it at the end of each pass).
    var smtpIdle: Duration
    /// How many due emails a sender claims in one statement, NOTIFY_CLAIM_BATCH (1-50, default 5).
    var claimBatch: Int

    init(_ configuration: ServiceConfiguration) throws {
        let host = configuration.stringSetting("SMTP_HOST") ?? "127.0.0.1"
        smtp = SMTPSettings(
            host: host,
            port: try configuration.setting("SMTP_PORT", default: 1025),
            startTLS: try configuration.setting("SMTP_STARTTLS", default: 0) != 0,
            verifyCertificate: try configuration.setting("SMTP_TLS_VERIFY", default: 1) != 0,
            username: configuration.stringSetting("SMTP_USERNAME"),
            password: configuration.stringSetting("SMTP_PASSWORD"),
            timeout: .seconds(max(1, try configuration.setting("SMTP_TIMEOUT_SECONDS", default: 15))))
        let fromEmail = configuration.stringSetting("NOTIFY_FROM_EMAIL") ?? "no-reply@escrowmarket.test"
        from = MailAddress(email: fromEmail, name: configuration.stringSetting("NOTIFY_FROM_NAME") ?? "EscrowMarket")
        guard from.isValid else { throw ConfigurationError(variable: "NOTIFY_FROM_EMAIL", message: "is not a mail address") }
        adminEmail = configuration.stringSetting("NOTIFY_ADMIN_EMAIL") ?? "admin@escrowmarket.test"
        guard MailAddress(email: adminEmail).isValid else {
            throw ConfigurationError(variable: "NOTIFY_ADMIN_EMAIL", message: "is not a mail address")
        }
        var base = configuration.stringSetting("NOTIFY_LINK_BASE_URL") ?? "http://localhost:8080"
        while base.hasSuffix("/") { base.removeLast() }
        linkBaseURL = base
        platformName = configuration.stringSetting("NOTIFY_PLATFORM_NAME") ?? "EscrowMarket"
        platformAddress = configuration.stringSetting("NOTIFY_PLATFORM_ADDRESS") ?? "1 Market Street, Springfield"
        messageIdDomain = String(fromEmail.split(separator: "@").last ?? "escrowmarket.test")
        shipReminderDelay = TimeInterval(try configuration.setting("NOTIFY_SHIP_REMINDER_SECONDS", default: 3 * 86_400))
        confirmReminderLead = TimeInterval(try configuration.setting("NOTIFY_CONFIRM_REMINDER_LEAD_SECONDS", default: 2 * 86_400))
        loopInterval = .milliseconds(max(10, try configuration.setting("NOTIFY_LOOP_INTERVAL_MS", default: 1000)))
        retryBase = TimeInterval(try configuration.setting("NOTIFY_RETRY_BASE_SECONDS", default: 30))
        retryMaximum = TimeInterval(try configuration.setting("NOTIFY_RETRY_MAX_SECONDS", default: 3600))
        maximumAttempts = max(1, try configuration.setting("NOTIFY_MAX_ATTEMPTS", default: 10))
        sendingTimeout = TimeInterval(try configuration.setting("NOTIFY_SENDING_TIMEOUT_SECONDS", default: 300))
        senders = min(64, max(1, try configuration.setting("NOTIFY_SENDERS", default: 8)))
        claimBatch = min(50, max(1, try configuration.setting("NOTIFY_CLAIM_BATCH", default: 5)))
        smtpIdle = .seconds(min(300, max(0, try configuration.setting("SMTP_IDLE_SECONDS", default: 30))))
    }

    /// Seconds to wait before the next attempt after `attempts` failures.
    func backoff(afterAttempts attempts: Int) -> TimeInterval {
        let exponent = Double(min(max(attempts - 1, 0), 30))
        return min(retryMaximum, retryBase * pow(2, exponent))
    }
}
