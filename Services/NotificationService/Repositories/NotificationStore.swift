import Crypto
import EventContracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// Who an email is for: a user (whose address may only be learnt later) or the admin address.
enum Recipient: Sendable, Equatable {
    case user(String)
    case admin(email: String)

    /// The recipient's part of the idempotency key.
    var key: String {
        switch self {
        case .user(let id): "user:\(id)"
        case .admin: "admin"
        }
    }
}

/// A notification taken by the delivery loop, marked `sending`.
struct ClaimedNotification: Sendable {
    var id: UUID
    var kind: String
    var email: String?
    var subject: String
    var text: String
    var html: String
    var messageId: String
    var attempts: Int
}

/// Notifications: queued in the event's transaction, then claimed, sent and recorded by the loop.
struct NotificationStore: Sendable {
    let logger: Logger
    let messageIdDomain: String

    /// `<event id>:<template>:<recipient>`: one email per event, template and recipient, ever.
    static func idempotencyKey(source: UUID, kind: EmailKind, recipient: Recipient) -> String {
        "\(source.uuidString.lowercased()):\(kind.rawValue):\(recipient.key)"
    }

    /// The Message-ID is a hash of the idempotency key, so a resend carries the same one.
    func messageId(forKey key: String) -> String {
        let digest = SHA256.hash(data: Data(key.utf8)).hexEncoded
        return "\(digest.prefix(32))@\(messageIdDomain)"
    }

    /// Queues an email in the caller's transaction; false if this key was queued before.
    @discardableResult
    func enqueue(
        _ email: RenderedEmail, kind: EmailKind, to recipient: Recipient, orderId: UUID?, source: UUID,
        on connection: PostgresConnection
    ) async throws -> Bool {
        let key = Self.idempotencyKey(source: source, kind: kind, recipient: recipient)
        let userId: String?
        let address: String?
        switch recipient {
        case .user(let id): (userId, address) = (id, nil)
        case .admin(let email): (userId, address) = (nil, email)
        }
        let inserted = try await connection.query(prepared:
            """
            INSERT INTO notifications (id, idempotency_key, kind, audience, recipient_id, recipient_email, order_id,
                                       subject, text_body, html_body, message_id, source_event_id)
            VALUES (\(UUID()), \(key), \(kind.rawValue), \(kind.audience.rawValue), \(userId),
                    COALESCE(\(address), (SELECT email FROM contacts WHERE user_id = \(userId))), \(orderId),
                    \(email.subject), \(email.text), \(email.html), \(messageId(forKey: key)), \(source))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """, logger: logger
        ).decode(UUID.self).all()
        if inserted.isEmpty {
            logger.debug("notification already queued", metadata: ["idempotency_key": "\(key)"])
        } else {
            logger.info("notification queued", metadata: ["kind": "\(kind.rawValue)", "notification_id": "\(inserted[0])"])
        }
        return !inserted.isEmpty
    }

    /// Marks up to `limit` due notifications `sending` for one sender, in one committed statement
    /// before any byte goes to the SMTP server (one commit for them all rather than one each); the
    /// address is taken from contacts if it was unknown.
    func claim(limit: Int, postgres: PostgresClient) async throws -> [ClaimedNotification] {
        try await postgres.withConnection { connection in
            try await connection.query(prepared:
                """
                UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1, sending_since = now(),
                    recipient_email = COALESCE(n.recipient_email, (SELECT email FROM contacts c WHERE c.user_id = n.recipient_id))
                WHERE n.id IN (
                    SELECT id FROM notifications WHERE status IN ('queued', 'failed') AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT \(max(1, limit)) FOR UPDATE SKIP LOCKED)
                RETURNING n.id, n.kind, n.recipient_email, n.subject, n.text_body, n.html_body, n.message_id, n.attempts
                """, logger: logger
            ).decode((UUID, String, String?, String, String, String, String, Int).self).all().map {
                ClaimedNotification(
                    id: $0.0, kind: $0.1, email: $0.2, subject: $0.3, text: $0.4, html: $0.5, messageId: $0.6, attempts: $0.7)
            }
        }
    }

    /// Records the claim's outcome; `attempts` identifies the claim, so a sender whose claim
    /// was taken back (and claimed again elsewhere) records nothing.
    func markSent(_ claim: ClaimedNotification, postgres: PostgresClient) async throws {
        try await postgres.withConnection { connection in
            _ = try await connection.query(prepared:
                """
                UPDATE notifications SET status = 'sent', sent_at = now(), sending_since = NULL, last_error = NULL
                WHERE id = \(claim.id) AND status = 'sending' AND attempts = \(claim.attempts)
                """, logger: logger)
        }
    }

    /// `failed` with the next attempt after `retryIn`, or `dead` when retrying cannot help or
    /// the attempts are used up.
    func markFailed(_ claim: ClaimedNotification, error: String, dead: Bool, retryIn: TimeInterval, postgres: PostgresClient) async throws {
        let status = dead ? "dead" : "failed"
        try await postgres.withConnection { connection in
            _ = try await connection.query(prepared:
                """
                UPDATE notifications SET status = \(status), last_error = \(String(error.prefix(1000))), sending_since = NULL,
                    next_attempt_at = now() + make_interval(secs => \(retryIn))
                WHERE id = \(claim.id) AND status = 'sending' AND attempts = \(claim.attempts)
                """, logger: logger)
        }
    }

    /// Notifications left `sending` longer than `timeout` (the instance died mid-send) go back
    /// to `failed`, due now, or `dead` when their attempts are used up (one that crashes the
    /// sender every time must not be retried forever). Their Message-ID is unchanged, so a
    /// resend is recognisable.
    func requeueInterrupted(olderThan timeout: TimeInterval, maximumAttempts: Int, postgres: PostgresClient) async throws -> Int {
        try await postgres.withConnection { connection in
            try await connection.query(prepared:
                """
                UPDATE notifications SET status = CASE WHEN attempts >= \(maximumAttempts) THEN 'dead' ELSE 'failed' END,
                    sending_since = NULL, next_attempt_at = now(), last_error = 'interrupted while sending'
                WHERE status = 'sending' AND sending_since < now() - make_interval(secs => \(timeout))
                RETURNING id
                """, logger: logger
            ).decode(UUID.self).all().count
        }
    }
}
