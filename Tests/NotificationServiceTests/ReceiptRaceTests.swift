import EventContracts
import Foundation
import Messaging
import PostgresNIO
import ServiceRuntime
import Testing
import TestSupport

@testable import NotificationService

/// Two instances (or two batches) handling a payment and its order's event at the same moment:
/// each transaction decides whether the receipt can be emailed, and neither may miss the other.
@Suite struct ReceiptRaceTests {
    @Test func aReceiptIsEmailedWhenItsPaymentAndItsOrderAreHandledAtOnce() async throws {
        let definition = ServiceDefinition.notificationService
        let migrations = try MessagingMigrations.all() + definition.migrations()
        try await TestDatabase.withSchema(prefix: "receipts", migrations: migrations) { database in
            let configuration = try ServiceConfiguration.fromEnvironment([:], service: definition.identity)
            let handlers = try NotificationEventHandlers(settings: NotificationSettings(configuration), logger: TestEnvironment.logger)
            let fixture = Fixture()
            let order = fixture.order()
            let payment = try EventEnvelope(
                payload: fixture.payment([order]), aggregateId: fixture.checkoutId.uuidString, correlationId: "test", producer: "tests")
            let placed = EventEnvelope(
                id: UUID(), type: "order.placed", aggregateType: OrderEvent.aggregateType,
                aggregateId: order.orderId.uuidString.lowercased(), occurredAt: Date(), correlationId: "test", producer: "tests",
                payload: try JSONValue(encoding: OrderEvent(order: order, fromStatus: nil, actor: "tests", reason: nil, autoConfirmAt: nil)))

            try await database.client.withConnection { first in
                // The payment is handled and its transaction left open.
                try await first.query("BEGIN", logger: TestEnvironment.logger)
                try await handlers.paymentSucceeded(
                    try payment.decodePayload(as: PaymentSucceeded.self),
                    EventContext(envelope: payment, connection: first, logger: TestEnvironment.logger, producer: "tests"))

                // Meanwhile the order event is handled on another connection.
                let (backends, reportBackend) = AsyncStream.makeStream(of: Int32.self)
                let other = Task {
                    try await database.client.withConnection { second in
                        let backend = try await second.query("SELECT pg_backend_pid()", logger: TestEnvironment.logger)
                            .decode(Int32.self).all()[0]
                        reportBackend.yield(backend)
                        try await second.query("BEGIN", logger: TestEnvironment.logger)
                        try await handlers.orderChanged(
                            EventContext(envelope: placed, connection: second, logger: TestEnvironment.logger, producer: "tests"))
                        try await second.query("COMMIT", logger: TestEnvironment.logger)
                    }
                }
                var iterator = backends.makeAsyncIterator()
                let backend = try #require(await iterator.next())
                // It either finishes without the payment's receipt in sight, or waits for it.
                var waiting = false
                let deadline = ContinuousClock.now + .seconds(30)
                while !waiting, ContinuousClock.now < deadline {
                    waiting = try await database.count(
                        "SELECT count(*) FROM pg_locks WHERE pid = \(backend) AND NOT granted") > 0
                    if try await database.count("SELECT count(*) FROM contacts WHERE user_id = \(fixture.buyer)") > 0 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await first.query("COMMIT", logger: TestEnvironment.logger)
                try await other.value
                #expect(waiting, "the order's handler went ahead while the payment's transaction was open")
            }
            #expect(try await database.count("SELECT count(*) FROM receipts WHERE emailed") == 1)
            #expect(try await database.count("SELECT count(*) FROM notifications WHERE kind = 'payment_receipt'") == 1)
        }
    }
}
