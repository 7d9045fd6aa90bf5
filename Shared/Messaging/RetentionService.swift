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

    /// Rows deleted per statement: a backlog of millions (a first run, a long outage) goes in short
    /// transactions, never held in one statement or loaded into memory.
    public static let batchSize = 10_000

    /// Deletes what is past retention; returns the number of outbox and inbox rows removed.
    @discardableResult
    public func pruneOnce() async throws -> (outbox: Int, inbox: Int) {
        let outboxSeconds = Double(outboxRetention.components.seconds)
        let inboxSeconds = Double(inboxRetention.components.seconds)
        let outbox = try await pruneInBatches { batch in
            """
            WITH gone AS (
                DELETE FROM outbox WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM outbox WHERE published_at IS NOT NULL
                    AND published_at < now() - make_interval(secs => \(outboxSeconds)) LIMIT \(batch)))
                RETURNING 1)
            SELECT count(*)::int8 FROM gone
            """
        }
        let inbox = try await pruneInBatches { batch in
            """
            WITH gone AS (
                DELETE FROM inbox WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM inbox WHERE handled_at < now() - make_interval(secs => \(inboxSeconds)) LIMIT \(batch)))
                RETURNING 1)
            SELECT count(*)::int8 FROM gone
            """
        }
        if outbox + inbox > 0 {
            logger.info("pruned messaging tables", metadata: ["outbox": "\(outbox)", "inbox": "\(inbox)"])
        }
        for prune in additional { try await prune() }
        return (outbox, inbox)
    }

    /// Runs a counting delete of at most a batch until it deletes less than a batch.
    private func pruneInBatches(_ statement: (Int) -> PostgresQuery) async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let deleted = try await client.query(statement(Self.batchSize), logger: logger)
                .decode(Int64.self).all().first.map(Int.init) ?? 0
            total += deleted
            if deleted < Self.batchSize { break }
        }
        return total
    }
}

extension RetentionService: CustomStringConvertible {
    public var description: String { "RetentionService" }
}
