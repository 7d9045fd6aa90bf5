import Foundation
import Messaging
import PostgresNIO
import Testing
import TestSupport

@Suite struct RetentionTests {
    /// A backlog larger than a batch is pruned completely, in batches, and nothing younger than
    /// the retention (or unpublished) goes.
    @Test func aBacklogOfOldRowsIsPrunedInBatchesAndNothingElse() async throws {
        try await TestDatabase.withSchema(migrations: probeMigrations()) { database in
            let old = RetentionService.batchSize * 2 + 500
            try await database.client.query(
                """
                INSERT INTO outbox (event_id, topic, message_key, event_type, correlation_id, envelope, created_at, published_at)
                SELECT md5('old' || g)::uuid, 't', 'k', 'x', 'c', '\\x7b7d'::bytea, now() - interval '30 days', now() - interval '30 days'
                FROM generate_series(1, \(old)) g
                """, logger: logger)
            try await database.client.query(
                """
                INSERT INTO outbox (event_id, topic, message_key, event_type, correlation_id, envelope, created_at, published_at)
                VALUES (gen_random_uuid(), 't', 'k', 'x', 'c', '\\x7b7d'::bytea, now() - interval '30 days', NULL),
                       (gen_random_uuid(), 't', 'k', 'x', 'c', '\\x7b7d'::bytea, now(), now())
                """, logger: logger)
            try await database.client.query(
                """
                INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset, handled_at)
                SELECT 'c', md5('in' || g)::uuid, 'x', 't', 0, g, now() - interval '60 days' FROM generate_series(1, \(old)) g
                UNION ALL SELECT 'c', gen_random_uuid(), 'x', 't', 0, 0, now()
                """, logger: logger)
            let retention = RetentionService(client: database.client, logger: logger)
            let pruned = try await retention.pruneOnce()
            #expect(pruned.outbox == old)
            #expect(pruned.inbox == old)
            #expect(try await database.count("SELECT count(*) FROM outbox") == 2)
            #expect(try await database.count("SELECT count(*) FROM inbox") == 1)
            #expect(try await retention.pruneOnce() == (0, 0))
        }
    }
}
