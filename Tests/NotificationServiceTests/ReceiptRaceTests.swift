import EventContracts
import Foundation
import PostgresNIO
import ServiceRuntime
import Testing
import TestSupport

@testable import Messaging
@testable import NotificationService

/// Two instances (or two batches) handling a payment and its order's event at the same moment:
/// each transaction decides whether the receipt can be emailed, and neither may miss the other.
@Suite struct ReceiptRaceTests {
    @Test func aReceiptIsEmailedWhenItsPaymentAndItsOrderAreHandledAtOnce() async throws {
        try await Self.withHandlers { database, handlers in
            let fixture = Fixture()
            let order = fixture.order()
            let payment = try Self.envelope(fixture.payment([order]), fixture)
            let placed = try Self.placed(order)

            try await database.client.withConnection { first in
                // The payment is handled and its transaction left open.
                try await first.query("BEGIN", logger: TestEnvironment.logger)
                try await Self.apply(payment, handlers, on: first)

                // Meanwhile the order event is handled on another connection.
                let (other, backend) = try await Self.applyElsewhere(placed, handlers, database)
                // It either finishes without the payment's receipt in sight, or waits for it.
                let waiting = try await Self.waitsForALock(backend, database) {
                    try await database.count("SELECT count(*) FROM contacts WHERE user_id = \(fixture.buyer)") > 0
                }
                try await first.query("COMMIT", logger: TestEnvironment.logger)
                try await other.value
                #expect(waiting, "the order's handler went ahead while the payment's transaction was open")
            }
            #expect(try await database.count("SELECT count(*) FROM receipts WHERE emailed") == 1)
            #expect(try await database.count("SELECT count(*) FROM notifications WHERE kind = 'payment_receipt'") == 1)
        }
    }

    /// Two instances' batches: one has handled checkout X's payment and goes on to checkout Y's
    /// first order event; the other handles Y's payment meanwhile. When a payment's handler took
    /// the receipt counter, the first held it and waited for Y's lock, which the second held while
    /// it waited for the counter: Postgres aborted one of them (40P01).
    @Test func batchesIssuingReceiptsOfDifferentCheckoutsDoNotDeadlock() async throws {
        try await Self.withHandlers { database, handlers in
            let (x, y) = (Fixture(), Fixture())
            let (orderX, orderY) = (x.order(), y.order())
            let paymentX = try Self.envelope(x.payment([orderX]), x)
            let paymentY = try Self.envelope(y.payment([orderY]), y)

            try await database.client.withConnection { first in
                let batch = BeforeCommit()
                try await first.query("BEGIN", logger: TestEnvironment.logger)
                try await Self.apply(paymentX, handlers, on: first, batch: batch)

                let (other, backend) = try await Self.applyElsewhere(paymentY, handlers, database)
                // Y's payment either commits or waits for a lock the first batch holds.
                let waited = try await Self.waitsForALock(backend, database) {
                    try await database.count("SELECT count(*) FROM receipts WHERE checkout_id = \(y.checkoutId)") > 0
                }
                #expect(!waited, "Y's payment waited for the batch that handled X's")
                try await Self.apply(try Self.placed(orderY), handlers, on: first, batch: batch)
                try await batch.run(on: first, logger: TestEnvironment.logger)
                try await first.query("COMMIT", logger: TestEnvironment.logger)
                try await other.value
            }
            #expect(try await database.count("SELECT count(*) FROM receipts") == 2)
            // Gap-free, in commit order: Y's batch committed first.
            #expect(try await database.count("SELECT number FROM receipts WHERE checkout_id = \(y.checkoutId)") == 1)
            #expect(try await database.count("SELECT number FROM receipts WHERE checkout_id = \(x.checkoutId)") == 2)
            #expect(try await database.count("SELECT last FROM receipt_counter") == 2)
            // Y's order arrived after its receipt: emailed then. X's order has not arrived.
            #expect(try await database.count("SELECT count(*) FROM receipts WHERE emailed AND checkout_id = \(y.checkoutId)") == 1)
            #expect(try await database.count("SELECT count(*) FROM notifications WHERE kind = 'payment_receipt'") == 1)
        }
    }

    /// Two instances' batches each name two checkouts, in opposite orders: one handles checkout X's
    /// payment, then the first of Y's two orders; the other handles Y's second order, then X's.
    /// When each event's handler took its checkout's lock, each batch held one checkout and waited
    /// for the other's: Postgres aborted one of them (40P01).
    @Test func batchesNamingTwoCheckoutsInOppositeOrdersDoNotDeadlock() async throws {
        try await Self.withHandlers { database, handlers in
            let (x, y) = (Fixture(), Fixture())
            let (x1, x2, y1, y2) = (x.order(), x.order(), y.order(), y.order())
            try await database.client.withConnection { first in
                try await database.client.withConnection { second in
                    let (one, two) = (BeforeCommit(), BeforeCommit())
                    try await first.query("BEGIN", logger: TestEnvironment.logger)
                    try await second.query("BEGIN", logger: TestEnvironment.logger)
                    try await Self.apply(try Self.envelope(x.payment([x1, x2]), x), handlers, on: first, batch: one)
                    try await Self.apply(try Self.placed(y2), handlers, on: second, batch: two)
                    async let firstDone: Void = {
                        try await Self.apply(try Self.placed(y1), handlers, on: first, batch: one)
                        try await one.run(on: first, logger: TestEnvironment.logger)
                        try await first.query("COMMIT", logger: TestEnvironment.logger)
                    }()
                    async let secondDone: Void = {
                        try await Self.apply(try Self.placed(x2), handlers, on: second, batch: two)
                        try await two.run(on: second, logger: TestEnvironment.logger)
                        try await second.query("COMMIT", logger: TestEnvironment.logger)
                    }()
                    try await firstDone
                    try await secondDone
                }
            }
            #expect(try await database.count("SELECT count(*) FROM receipts WHERE checkout_id = \(x.checkoutId) AND number = 1") == 1)
            #expect(try await database.count("SELECT count(*) FROM orders") == 3)
            // X's first order has not arrived: its receipt waits.
            #expect(try await database.count("SELECT count(*) FROM receipts WHERE emailed") == 0)
        }
    }

    /// A transaction that only sees orders arrive takes no lock on the receipt counter: orders are
    /// most of the events, and the counter is held by one transaction at a time until its commit.
    @Test func anOrderAloneDoesNotLockTheReceiptCounter() async throws {
        try await Self.withHandlers { database, handlers in
            let fixture = Fixture()
            try await database.client.withConnection { connection in
                try await connection.query("BEGIN", logger: TestEnvironment.logger)
                try await Self.apply(try Self.placed(fixture.order()), handlers, on: connection)
                let backend = try await Self.backend(of: connection)
                let counterLocks = try await database.count(
                    """
                    SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                    WHERE l.pid = \(backend) AND c.relname = 'receipt_counter'
                    """)
                try await connection.query("COMMIT", logger: TestEnvironment.logger)
                #expect(counterLocks == 0)
            }
            #expect(try await database.count("SELECT count(*) FROM orders") == 1)
        }
    }

    /// The order's event before and after its payment's in one transaction: the receipt is
    /// issued at the transaction's end, numbered, and emailed there once.
    @Test(arguments: [true, false]) func aPaymentAndItsOrderInOneBatchEmailTheReceiptOnce(orderFirst: Bool) async throws {
        try await Self.withHandlers { database, handlers in
            let fixture = Fixture()
            let order = fixture.order()
            let events = [try Self.placed(order), try Self.envelope(fixture.payment([order]), fixture)]
            try await database.client.withConnection { connection in
                let batch = BeforeCommit()
                try await connection.query("BEGIN", logger: TestEnvironment.logger)
                for event in orderFirst ? events : events.reversed() {
                    try await Self.apply(event, handlers, on: connection, batch: batch)
                }
                try await batch.run(on: connection, logger: TestEnvironment.logger)
                try await connection.query("COMMIT", logger: TestEnvironment.logger)
            }
            #expect(try await database.count("SELECT count(*) FROM receipts WHERE emailed AND number = 1") == 1)
            let subjects = try await database.client.query(
                "SELECT subject FROM notifications WHERE kind = 'payment_receipt'", logger: TestEnvironment.logger
            ).decode(String.self).all()
            #expect(subjects.count == 1)
            #expect(subjects.first?.contains("R-000001") == true, "\(subjects)")
        }
    }

    // MARK: - Helpers

    static func withHandlers(_ body: @Sendable (TestDatabase, NotificationEventHandlers) async throws -> Void) async throws {
        let definition = ServiceDefinition.notificationService
        let migrations = try MessagingMigrations.all() + definition.migrations()
        try await TestDatabase.withSchema(prefix: "receipts", migrations: migrations) { database in
            let configuration = try ServiceConfiguration.fromEnvironment([:], service: definition.identity)
            try await body(database, try NotificationEventHandlers(settings: NotificationSettings(configuration), logger: TestEnvironment.logger))
        }
    }

    static func envelope(_ payment: PaymentSucceeded, _ fixture: Fixture) throws -> EventEnvelope {
        try EventEnvelope(payload: payment, aggregateId: fixture.checkoutId.uuidString, correlationId: "test", producer: "tests")
    }

    static func placed(_ order: OrderSnapshot) throws -> EventEnvelope {
        EventEnvelope(
            id: UUID(), type: "order.placed", aggregateType: OrderEvent.aggregateType,
            aggregateId: order.orderId.uuidString.lowercased(), occurredAt: Date(), correlationId: "test", producer: "tests",
            payload: try JSONValue(encoding: OrderEvent(order: order, fromStatus: nil, actor: "tests", reason: nil, autoConfirmAt: nil)))
    }

    /// Applies the event as a consumer does: with `batch`, as one event of a transaction whose end
    /// work the caller runs; without, as a transaction of its own (its end work run at once).
    static func apply(
        _ envelope: EventEnvelope, _ handlers: NotificationEventHandlers, on connection: PostgresConnection, batch: BeforeCommit? = nil
    ) async throws {
        let handler = try #require(handlers.all.first { $0.eventType == envelope.type })
        let context = batch.map {
            EventContext(
                envelope: envelope, connection: connection, logger: TestEnvironment.logger, producer: "tests",
                afterCommit: AfterCommit(), beforeCommit: $0, dispatch: nil)
        } ?? EventContext(envelope: envelope, connection: connection, logger: TestEnvironment.logger, producer: "tests")
        try await handler.handle(context)
    }

    static func backend(of connection: PostgresConnection) async throws -> Int32 {
        try await connection.query("SELECT pg_backend_pid()", logger: TestEnvironment.logger).decode(Int32.self).all()[0]
    }

    /// Applies the event in a transaction of its own on another connection, in the background;
    /// returns that work and the connection's backend, to watch its locks.
    static func applyElsewhere(
        _ envelope: EventEnvelope, _ handlers: NotificationEventHandlers, _ database: TestDatabase
    ) async throws -> (Task<Void, any Error>, Int32) {
        let (backends, reportBackend) = AsyncStream.makeStream(of: Int32.self)
        let work = Task {
            try await database.client.withConnection { connection in
                reportBackend.yield(try await backend(of: connection))
                try await connection.query("BEGIN", logger: TestEnvironment.logger)
                try await apply(envelope, handlers, on: connection)
                try await connection.query("COMMIT", logger: TestEnvironment.logger)
            }
        }
        var iterator = backends.makeAsyncIterator()
        return (work, try #require(await iterator.next()))
    }

    /// Whether `backend` comes to wait for a lock before `isDone` holds (30 s at most).
    static func waitsForALock(_ backend: Int32, _ database: TestDatabase, isDone: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await database.count("SELECT count(*) FROM pg_locks WHERE pid = \(backend) AND NOT granted") > 0 { return true }
            if try await isDone() { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
