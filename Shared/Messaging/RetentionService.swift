import Logging
import PostgresNIO
import ServiceLifecycle

/// Prunes published outbox rows and old inbox rows after their retention periods.
public struct RetentionService: Service {
    let client: PostgresClient
    let outboxRetention: Duration
    let inboxRetention: Duration
    let interval: Duration
    let logger: Logger
    /// Further pruning of the service's own tables (e.g. old Idempotency-Key records).
    let additional: [@Sendable () async throws -> Void]

    public init(
        client: PostgresClient, outboxRetention: Duration = .seconds(7 * 86_400),
        inboxRetention: Duration = .seconds(30 * 86_400), interval: Duration = .seconds(600), logger: Logger,
        additional: [@Sendable () async throws -> Void] = []
    ) {
        self.client = client
        self.outboxRetention = outboxRetention
        self.inboxRetention = inboxRetention
        self.interval = interval
        self.logger = logger
        self.additional = additional
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await pruneOnce()
                    } catch {
                        if Task.isCancelled { return }
                        logger.warning("retention pass failed", metadata: ["error": "\(error)"])
                    }
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
    }

    /// Deletes what is past retention; returns the number of outbox and inbox rows removed.
    @discardableResult
    public func pruneOnce() async throws -> (outbox: Int, inbox: Int) {
        let outboxSeconds = Double(outboxRetention.components.seconds)
        let inboxSeconds = Double(inboxRetention.components.seconds)
        let outbox = try await client.query(
            """
            DELETE FROM outbox WHERE published_at IS NOT NULL
            AND published_at < now() - make_interval(secs => \(outboxSeconds)) RETURNING 1
            """, logger: logger
        ).collect().count
        let inbox = try await client.query(
            "DELETE FROM inbox WHERE handled_at < now() - make_interval(secs => \(inboxSeconds)) RETURNING 1",
            logger: logger
        ).collect().count
        if outbox + inbox > 0 {
            logger.info("pruned messaging tables", metadata: ["outbox": "\(outbox)", "inbox": "\(inbox)"])
        }
        for prune in additional { try await prune() }
        return (outbox, inbox)
    }
}

extension RetentionService: CustomStringConvertible {
    public var description: String { "RetentionService" }
}
