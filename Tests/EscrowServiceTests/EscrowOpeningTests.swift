import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService

@Suite struct EscrowOpeningTests {
    @Test func aPaymentOpensOneEscrowPerOrderAndTheLedgerBalancesEvenWhenTheEventRepeats() async throws {
        try await ServiceHarness.run(.escrowService, topics: [Topic.payments, Topic.escrow]) { service in
            let orders = [UUID(), UUID(), UUID()]
            let payment = PaymentSucceeded(
                paymentId: UUID(), checkoutId: UUID(), chargeId: "ch_1", amount: 10_001, currency: "usd",
                orders: [
                    .init(orderId: orders[0], sellerId: "seller-1", amount: 3334), .init(orderId: orders[1], sellerId: "seller-2", amount: 3334),
                    .init(orderId: orders[2], sellerId: "seller-3", amount: 3333),
                ],
                buyerId: "buyer-1")
            let id = UUID()
            try await service.publish(payment, topic: Topic.payments, aggregateId: payment.paymentId.uuidString, id: id)
            try await service.publish(payment, topic: Topic.payments, aggregateId: payment.paymentId.uuidString, id: id)
            try await service.publish(payment, topic: Topic.payments, aggregateId: payment.paymentId.uuidString)
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM inbox") == 2 })
            #expect(try await service.database.count("SELECT count(*) FROM escrows") == 3)
            #expect(try await service.database.count("SELECT sum(gross_amount)::int FROM escrows") == 10_001)
            #expect(try await service.database.count("SELECT count(*) FROM escrows WHERE fee_amount + net_amount <> gross_amount") == 0)
            // Every journal transaction balances, so the whole ledger sums to zero per currency.
            #expect(try await service.database.count("SELECT count(*) FROM (SELECT currency FROM journal_entries GROUP BY currency HAVING sum(amount) <> 0) x") == 0)
            #expect(try await service.database.count("SELECT count(*) FROM journal_transactions") == 1)
            #expect(try await service.database.count("SELECT -sum(amount)::int FROM journal_entries WHERE account LIKE 'escrow_held:%'") == 10_001)

            let path = "/api/v1/escrows/\(orders[1].uuidString)"
            let seller = try await service.call(.get, path, as: "seller-2", roles: ["seller"])
            #expect(seller.status == .ok)
            #expect(try seller.json()["feeAmount"] as? Int == 167)
            #expect(try seller.json()["netAmount"] as? Int == 3334 - 167)
            #expect(try await service.call(.get, path, as: "buyer-1", roles: ["buyer"]).status == .ok)
            #expect(try await service.call(.get, path, as: "seller-1", roles: ["seller"]).status == .notFound)
        }
    }

    @Test func theLedgerRefusesUnbalancedOrEditedEntries() async throws {
        try await ServiceHarness.run(.escrowService, topics: [Topic.payments, Topic.escrow]) { service in
            try Task.checkCancellation()
            let transaction = UUID()
            // Unbalanced at commit: the deferred trigger rejects the whole transaction.
            var refused = false
            do {
                try await service.database.client.inTransaction(logger: TestEnvironment.logger) { connection in
                    try await connection.query("INSERT INTO journal_transactions (id, memo, source) VALUES (\(transaction), 'bad', 'test')", logger: TestEnvironment.logger)
                    try await connection.query(
                        "INSERT INTO journal_entries (transaction_id, account, amount, currency) VALUES (\(transaction), 'gateway_clearing', 100, 'usd')",
                        logger: TestEnvironment.logger)
                }
            } catch {
                refused = true
            }
            #expect(refused)
            #expect(try await service.database.count("SELECT count(*) FROM journal_entries") == 0)
        }
    }
}
