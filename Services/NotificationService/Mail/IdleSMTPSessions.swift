import Synchronization

/// SMTP connections kept between delivery passes, at most one per sender, so that a steady
/// trickle of mail does not open a connection per sender every pass (connect, greeting, EHLO,
/// and STARTTLS and AUTH where configured, then QUIT). A connection that has sent nothing for
/// longer than `idleLimit` is closed at the next pass: servers drop idle connections (RFC 5321
/// asks them to wait at least 5 minutes), and a dropped one would cost a failed MAIL and a
/// reconnect.
final class IdleSMTPSessions: Sendable {
    private let shelf = Mutex<[SMTPSession]>([])
    let idleLimit: Duration

    init(idleLimit: Duration) {
        self.idleLimit = idleLimit
    }

    /// The most recently used open session, or a new one (no connection until its first mail).
    func take() -> SMTPSession {
        shelf.withLock { $0.popLast() } ?? SMTPSession()
    }

    /// Keeps an open session for the next pass; one without a connection is dropped.
    func put(_ session: SMTPSession) {
        guard session.connection != nil else { return }
        shelf.withLock { shelved in
            shelved.append(session)
            shelved.sort { ($0.lastSent ?? .now) < ($1.lastSent ?? .now) }
        }
    }

    /// Closes the sessions that have sent nothing for longer than `idleLimit`.
    func closeStale() async {
        let deadline = ContinuousClock.now - idleLimit
        func isStale(_ session: SMTPSession) -> Bool { (session.lastSent ?? deadline) <= deadline }
        let stale = shelf.withLock { shelved in
            defer { shelved.removeAll(where: isStale) }
            return shelved.filter(isStale)
        }
        for var session in stale { await session.close() }
    }

    /// Closes every kept session (at shutdown).
    func closeAll() async {
        let all = shelf.withLock { shelved in
            defer { shelved.removeAll() }
            return shelved
        }
        for var session in all { await session.close() }
    }
}
