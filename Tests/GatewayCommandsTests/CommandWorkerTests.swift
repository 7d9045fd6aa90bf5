import Foundation
import GatewayCommands
import Persistence
import PostgresNIO
import Synchronization
import Testing
import TestSupport

/// The worker's own mechanics against real Postgres, with a scripted gateway: what it answers on
/// each attempt, and what it sees of our database while it is being called.
@Suite struct CommandWorkerTests {
    /// A gateway that answers from a script and records every call; the bookkeeping writes a row.
    final class ScriptedHandler: GatewayCommandHandler {
        let answers: Mutex<[GatewayOutcome]>
        let calls = SharedCounter()
        let keys = Mutex<[String]>([])
        let failBookkeepingOnce = Mutex(false)
        let openTransactionsSeen = SharedCounter()
        let database: TestDatabase

        init(_ answers: [GatewayOutcome], database: TestDatabase, failBookkeepingOnce: Bool = false) {
            self.answers = Mutex(answers)
            self.database = database
            self.failBookkeepingOnce.withLock { $0 = failBookkeepingOnce }
        }

        func execute(_ command: GatewayCommand) async -> GatewayOutcome {
            calls.add()
            keys.withLock { $0.append(command.idempotencyKey) }
            // While the gateway is asked, nothing of ours may hold a transaction open.
            // (Other tests run beside this one: only transactions holding locks in this schema count.)
            let open = (try? await database.count(
                """
                SELECT count(DISTINCT a.pid)::int FROM pg_stat_activity a
                JOIN pg_locks l ON l.pid = a.pid JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = \(database.schema) AND a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid()
                """)) ?? -1000
            openTransactionsSeen.add(open)
            try? await Task.sleep(for: .milliseconds(50))
            return answers.withLock { $0.isEmpty ? .unknown("script ended") : $0.removeFirst() }
        }

        func succeeded(_ command: GatewayCommand, objectId: String, attributes: [String: String], on connection: PostgresConnection) async throws {
            struct CrashBeforeCommit: Error {}
            try await connection.query("INSERT INTO outcomes (command_id, outcome) VALUES (\(command.id), \(objectId))", logger: TestEnvironment.logger)
            if failBookkeepingOnce.withLock({ let fail = $0; $0 = false; return fail }) { throw CrashBeforeCommit() }
        }

        func refused(_ command: GatewayCommand, code: String, reason: String, on connection: PostgresConnection) async throws {
            try await connection.query("INSERT INTO outcomes (command_id, outcome) VALUES (\(command.id), \("refused:" + code))", logger: TestEnvironment.logger)
        }
    }

    static func migrations() throws -> [Migration] {
        try GatewayCommandMigrations.all() + [Migration(id: "test/0001_outcomes", sql: "CREATE TABLE outcomes (command_id uuid NOT NULL, outcome text NOT NULL)")]
    }

    func enqueue(_ database: TestDatabase, key: String) async throws -> UUID {
        let store = GatewayCommandStore(logger: TestEnvironment.logger)
        return try await database.client.inTransaction(logger: TestEnvironment.logger) { connection in
            try await store.enqueue(
                GatewayCommand(kind: "transfer", subject: "escrow-1", amount: 1900, currency: "usd", idempotencyKey: key, correlationId: "c-1"),
                on: connection
            ).id
        }
    }

    func runner(_ database: TestDatabase, _ handler: ScriptedHandler, claimer: String = "test", lease: Duration = .seconds(45)) -> GatewayCommandRunner {
        GatewayCommandRunner(
            postgres: database.client, handlers: ["transfer": handler], logger: TestEnvironment.logger, claimer: claimer, lease: lease)
    }

    /// Unknown, unknown, then success: three calls with one key, one outcome booked, and no
    /// transaction of ours open during any call.
    @Test func unknownOutcomesAreRetriedWithTheSameKeyUntilOneIsKnown() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler([.unknown("timeout"), .unknown("502"), .succeeded(objectId: "tr_1")], database: database)
            let id = try await enqueue(database, key: "escrow-1-release-1900-1")
            let runner = runner(database, handler)
            for _ in 0..<3 {
                try await runner.runDue()
                // Make the retry due now rather than after its backoff.
                try await database.client.query("UPDATE gateway_commands SET next_attempt_at = now()", logger: TestEnvironment.logger)
            }
            try await runner.runDue()
            // (A pass also takes a retry whose backoff ran out meanwhile: on a slow machine the
            // script may be used up in fewer passes, never in fewer calls.)
            #expect(handler.calls.current == 3)
            #expect(Set(handler.keys.withLock { $0 }) == ["escrow-1-release-1900-1"])
            #expect(try await database.count("SELECT count(*)::int FROM outcomes WHERE outcome = 'tr_1'") == 1)
            let command = try await database.client.withConnection { try await runner.store.find(id, on: $0) }
            #expect(command?.status == .succeeded)
            #expect(command?.resultId == "tr_1")
            #expect(command?.attempts == 3)
            #expect(handler.openTransactionsSeen.current == 0)
        }
    }

    /// The gateway made the object but our commit failed (a crash in between): the command is
    /// still pending, runs again with the same key, and the outcome is booked once.
    @Test func aLostCommitRunsTheCommandAgainWithTheSameKeyAndBooksItOnce() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler(
                [.succeeded(objectId: "tr_9"), .succeeded(objectId: "tr_9")], database: database, failBookkeepingOnce: true)
            let id = try await enqueue(database, key: "k-lost-commit")
            let runner = runner(database, handler)
            try await runner.runDue()
            #expect(try await database.count("SELECT count(*)::int FROM outcomes") == 0)
            #expect(try await database.client.withConnection { try await runner.store.find(id, on: $0) }?.status == .pending)
            // The crashed worker's claim runs out.
            try await database.client.query("UPDATE gateway_commands SET next_attempt_at = now()", logger: TestEnvironment.logger)
            try await runner.runDue()
            #expect(handler.calls.current == 2)
            #expect(Set(handler.keys.withLock { $0 }) == ["k-lost-commit"])
            #expect(try await database.count("SELECT count(*)::int FROM outcomes WHERE outcome = 'tr_9'") == 1)
        }
    }

    /// A refusal is final: booked once, never sent again.
    @Test func aRefusalIsBookedOnceAndNotRetried() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler([.refused(code: "balance_insufficient", reason: "no funds")], database: database)
            _ = try await enqueue(database, key: "k-refused")
            let runner = runner(database, handler)
            try await runner.runDue()
            try await database.client.query("UPDATE gateway_commands SET next_attempt_at = now()", logger: TestEnvironment.logger)
            try await runner.runDue()
            #expect(handler.calls.current == 1)
            #expect(try await database.count("SELECT count(*)::int FROM outcomes WHERE outcome = 'refused:balance_insufficient'") == 1)
            #expect(try await database.count("SELECT count(*)::int FROM gateway_commands WHERE status = 'refused'") == 1)
        }
    }

    /// A lease is written to the millisecond: 1.5 s, not cut to the whole second (1 s) as it once
    /// was, whether the command is recorded claimed or claimed afterwards.
    @Test func aLeaseKeepsItsFractionOfASecond() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler([.succeeded(objectId: "tr_2")], database: database)
            let runner = runner(database, handler, lease: .milliseconds(1500))
            let leased: PostgresQuery =
                "SELECT count(*)::int FROM gateway_commands WHERE next_attempt_at - first_attempt_at = interval '1.5 seconds'"
            _ = try await database.client.inTransaction(logger: TestEnvironment.logger) { connection in
                try await runner.enqueueClaimed(
                    GatewayCommand(kind: "transfer", subject: "escrow-1", amount: 1900, currency: "usd", idempotencyKey: "k-1", correlationId: "c-1"),
                    on: connection)
            }
            #expect(try await database.count(leased) == 1)
            let id = try await enqueue(database, key: "k-2")
            #expect(try await runner.runNow(id)?.status == .succeeded)
            #expect(try await database.count(leased) == 2)
            #expect(handler.calls.current == 1)
        }
    }

    /// A request records its command already claimed and runs it after the commit: no second
    /// claim, and the worker leaves it alone meanwhile. The same key again is the same command,
    /// not a claim of this request: running it is `runNow`'s, and books nothing twice. A claim
    /// never run (the request died) goes to the worker once its lease runs out.
    @Test func aCommandRecordedClaimedIsRunOnceByItsRequest() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler([.succeeded(objectId: "pi_1"), .succeeded(objectId: "pi_2")], database: database)
            let requests = runner(database, handler, claimer: "request")
            let worker = runner(database, handler, claimer: "worker", lease: .seconds(1))
            let command = { (key: String) in
                GatewayCommand(kind: "transfer", subject: "payment-1", amount: 1900, currency: "usd", idempotencyKey: key, correlationId: "c-1")
            }
            let claim = try await database.client.inTransaction(logger: TestEnvironment.logger) { connection in
                try await requests.enqueueClaimed(command("payment-1-intent"), on: connection)
            }
            #expect(claim.command.attempts == 1)
            #expect(try await worker.runDue() == 0)
            let ran = try await requests.run(claim)
            #expect(ran?.status == .succeeded)
            #expect(ran?.resultId == "pi_1")
            #expect(ran?.attempts == 1)
            let again = try await database.client.inTransaction(logger: TestEnvironment.logger) { connection in
                try await requests.enqueueClaimed(command("payment-1-intent"), on: connection)
            }
            #expect(again.command.id == claim.command.id)
            #expect(try await requests.run(again)?.resultId == "pi_1")
            #expect(handler.calls.current == 1)

            let abandoned = try await database.client.inTransaction(logger: TestEnvironment.logger) { connection in
                try await worker.enqueueClaimed(command("payment-2-intent"), on: connection)
            }
            #expect(try await worker.runDue() == 0)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(try await worker.runDue() == 1)
            let taken = try await database.client.withConnection { try await worker.store.find(abandoned.command.id, on: $0) }
            #expect(taken?.status == .succeeded)
            #expect(taken?.attempts == 2)
            #expect(handler.calls.current == 2)
            #expect(try await database.count("SELECT count(*)::int FROM outcomes") == 2)
            #expect(handler.openTransactionsSeen.current == 0)
        }
    }

    /// Two workers (two instances) at once: each command is claimed by one of them.
    @Test func twoWorkersNeverRunTheSameCommandAtOnce() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler(Array(repeating: .succeeded(objectId: "tr"), count: 40), database: database)
            for index in 0..<20 { _ = try await enqueue(database, key: "k-\(index)") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for claimer in ["a", "b"] {
                    group.addTask { try await runner(database, handler, claimer: claimer).runDue() }
                }
                try await group.waitForAll()
            }
            #expect(handler.calls.current == 20)
            #expect(Set(handler.keys.withLock { $0 }).count == 20)
            #expect(try await database.count("SELECT count(*)::int FROM outcomes") == 20)
        }
    }

    /// A claim that never answers (as a query in flight when Postgres restarts may not) is
    /// abandoned after the statement timeout: the pass fails at once and the next one runs,
    /// instead of every command waiting for the whole pass's two-minute bound.
    @Test func aClaimThatDoesNotAnswerIsAbandonedAndTheNextPassRuns() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler([.succeeded(objectId: "tr_h")], database: database)
            _ = try await enqueue(database, key: "k-hung")
            // A short lease: the abandoned claim does finish once the table is free, and holds the
            // command until its lease runs out.
            let runner = runner(database, handler, claimer: "a", lease: .seconds(2))
            // Another session holds the table: the claim's UPDATE waits, as if nobody would answer.
            let (locked, release) = AsyncStream.makeStream(of: Void.self)
            let (released, releaseLock) = AsyncStream.makeStream(of: Void.self)
            let holder = Task {
                try await TestDatabase.admin { connection in
                    try await connection.query("BEGIN", logger: TestEnvironment.logger)
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "LOCK TABLE \(database.schema).gateway_commands IN ACCESS EXCLUSIVE MODE"), logger: TestEnvironment.logger)
                    release.yield()
                    for await _ in released { break }
                    try await connection.query("ROLLBACK", logger: TestEnvironment.logger)
                }
            }
            for await _ in locked { break }
            let started = ContinuousClock.now
            await #expect(throws: (any Error).self) { try await runner.runDue() }
            let waited = ContinuousClock.now - started
            #expect(waited >= .seconds(9) && waited < .seconds(30), "\(waited)")
            #expect(handler.calls.current == 0)
            releaseLock.yield()
            try await holder.value
            let deadline = ContinuousClock.now + .seconds(30)
            while try await database.count("SELECT count(*)::int FROM outcomes") == 0, ContinuousClock.now < deadline {
                _ = try? await runner.runDue()
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await database.count("SELECT count(*)::int FROM outcomes") == 1)
            #expect(handler.calls.current == 1)
        }
    }

    /// A restarted instance takes back at once what it held when it died, instead of waiting
    /// for its own lease to run out.
    @Test func aRestartedInstanceTakesBackItsOwnClaims() async throws {
        try await TestDatabase.withSchema(migrations: try Self.migrations()) { database in
            let handler = ScriptedHandler([.succeeded(objectId: "tr_r")], database: database)
            _ = try await enqueue(database, key: "k-restart")
            try await database.client.query(
                "UPDATE gateway_commands SET claimed_by = 'host-8083', attempts = 1, next_attempt_at = now() + interval '10 minutes'",
                logger: TestEnvironment.logger)
            let runner = runner(database, handler, claimer: "host-8083")
            let (wakeups, _) = AsyncStream.makeStream(of: Void.self)
            let worker = GatewayCommandWorker(runner: runner, wakeups: wakeups, interval: .milliseconds(100))
            let task = Task { try await worker.run() }
            defer { task.cancel() }
            var done = false
            for _ in 0..<50 where !done {
                try await Task.sleep(for: .milliseconds(100))
                done = try await database.count("SELECT count(*)::int FROM outcomes") == 1
            }
            #expect(done)
        }
    }
}
