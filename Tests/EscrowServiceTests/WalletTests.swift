import EventContracts
import Foundation
import HTTPTypes
import Testing
import TestSupport

@testable import EscrowService

/// Store credit against the running service: imports (dry run, apply once, rollback while
/// unspent) and admin grants, every movement balanced in the ledger.
@Suite struct WalletTests {
    static let csv = """
        external_id,buyer_id,currency,amount
        legacy-1,buyer-w1,usd,1500
        legacy-2,buyer-w2,usd,250
        legacy-3,buyer-w1,eur,700
        """

    func upload(_ service: ServiceHarness, _ body: String, reference: String, dryRun: Bool, type: String = "text/csv") async throws -> HTTPReply {
        let token = try await service.token("ops", ["admin"])
        return try await service.post(
            "/api/v1/admin/wallet-imports?reference=\(reference)&dryRun=\(dryRun)", bytes: Array(body.utf8),
            headers: [.authorization: "Bearer \(token)", .contentType: type])
    }

    func balances(_ service: ServiceHarness, _ buyer: String) async throws -> [String: Int] {
        let wallet = try await service.call(.get, "/api/v1/wallet", as: buyer, roles: ["buyer"]).json()
        let list = wallet["balances"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.compactMap { row in (row["currency"] as? String).map { ($0, row["balance"] as? Int ?? -1) } })
    }

    @Test func anImportIsCheckedThenAppliedOnceAndRolledBackWhileUnspent() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            // The dry run reports problems and books nothing.
            let bad = try await upload(service, Self.csv + "\nlegacy-4,buyer-w3,usd,-1", reference: "move-1", dryRun: true)
            #expect(bad.status == .ok)
            #expect(try bad.json()["valid"] as? Bool == false)
            #expect((try bad.json()["problems"] as? [[String: Any]])?.first?["line"] as? Int == 5)
            #expect(try await upload(service, Self.csv + "\nlegacy-4,buyer-w3,usd,-1", reference: "move-1", dryRun: false).status == .unprocessableContent)
            #expect(try await service.database.count("SELECT count(*) FROM journal_entries") == 0)
            let good = try await upload(service, Self.csv, reference: "move-1", dryRun: true)
            let report = try good.json()
            #expect(report["valid"] as? Bool == true && report["rowCount"] as? Int == 3)

            // Applied once: a retry is the same import, other rows under the reference are refused,
            // and a row already imported cannot come again under another reference.
            let applied = try await upload(service, Self.csv, reference: "move-1", dryRun: false)
            #expect(applied.status == .created, "\(applied.text)")
            let id = try #require(try applied.json()["id"] as? String)
            let again = try await upload(service, Self.csv, reference: "move-1", dryRun: false)
            let replayed = try again.json()["id"] as? String
            #expect(again.status == .ok && replayed == id)
            #expect(try await upload(service, Self.csv + "\nlegacy-9,buyer-w9,usd,1", reference: "move-1", dryRun: false).status == .conflict)
            let reused = try await upload(service, "external_id,buyer_id,currency,amount\nlegacy-2,buyer-w2,usd,250", reference: "move-2", dryRun: false)
            #expect(reused.status == .conflict && reused.text.contains("move-1"), "\(reused.text)")
            #expect(try await balances(service, "buyer-w1") == ["usd": 1500, "eur": 700])
            #expect(try await balances(service, "buyer-w2") == ["usd": 250])
            #expect(try await balances(service, "buyer-other").isEmpty)
            // The other side of every row: 1,750 usd and 700 eur (the helper sums across currencies).
            #expect(try await driver.balance("wallet_opening_balances") == -2450)
            try await driver.expectBalanced()

            let history = try await service.call(.get, "/api/v1/wallet", as: "buyer-w1", roles: ["buyer"]).json()
            let items = try #require((history["history"] as? [String: Any])?["items"] as? [[String: Any]])
            #expect(items.count == 2 && items.allSatisfy { $0["kind"] as? String == "import-row" && ($0["amount"] as? Int ?? 0) > 0 })

            // The rollback takes all of it back, once.
            let rollback = try await service.call(.post, "/api/v1/admin/wallet-imports/\(id)/rollback", as: "ops", roles: ["admin"], body: ["reason": "wrong file"])
            #expect(rollback.status == .ok, "\(rollback.text)")
            #expect(try rollback.json()["status"] as? String == "rolled_back")
            #expect(try await balances(service, "buyer-w1") == ["usd": 0, "eur": 0])
            #expect(try await service.call(.post, "/api/v1/admin/wallet-imports/\(id)/rollback", as: "ops", roles: ["admin"], body: ["reason": "again"]).status == .conflict)
            #expect(try await driver.balance("wallet_opening_balances") == 0)
            try await driver.expectBalanced()
        }
    }

    @Test func aSpentImportIsNotRolledBack() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let applied = try await upload(service, Self.csv, reference: "move-spent", dryRun: false)
            let id = try #require(try applied.json()["id"] as? String)
            // A spend, as checkout will book it: 100 of buyer-w2's 250 leave the wallet.
            try await service.database.client.withTransaction(logger: TestEnvironment.logger) { connection in
                let tx = UUID()
                try await connection.query("INSERT INTO journal_transactions (id, memo, source) VALUES (\(tx), 'spent at checkout', \("spend:\(tx)"))", logger: TestEnvironment.logger)
                try await connection.query(
                    "INSERT INTO journal_entries (transaction_id, account, amount, currency) VALUES (\(tx), 'buyer_wallet:buyer-w2', 100, 'usd'), (\(tx), 'gateway_clearing', -100, 'usd')",
                    logger: TestEnvironment.logger)
            }
            let refused = try await service.call(.post, "/api/v1/admin/wallet-imports/\(id)/rollback", as: "ops", roles: ["admin"], body: ["reason": "wrong file"])
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("buyer-w2 holds 150 usd of 250"), "\(refused.text)")
            #expect(try await balances(service, "buyer-w1") == ["usd": 1500, "eur": 700])
        }
    }

    @Test func twoAdminsApplyingTheSameImportAtOnceBookItOnce() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let replies = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<4 { group.addTask { try await upload(service, Self.csv, reference: "move-race", dryRun: false).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.filter { $0 == .created }.count == 1 && replies.filter { $0 == .ok }.count == 3, "\(replies)")
            #expect(try await balances(service, "buyer-w1") == ["usd": 1500, "eur": 700])
        }
    }

    @Test func aTopUpIsCreditedOnceEvenWhenItsEventComesTwice() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            let event = WalletToppedUp(topUpId: UUID(), buyerId: "buyer-t", amount: 2500, currency: "usd", chargeId: "ch_test")
            try await service.publish(event, topic: Topic.payments, aggregateId: event.topUpId.uuidString)
            try await service.publish(event, topic: Topic.payments, aggregateId: event.topUpId.uuidString)
            #expect(try await service.eventually { try await balances(service, "buyer-t") == ["usd": 2500] })
            try await Task.sleep(for: .seconds(1))
            #expect(try await balances(service, "buyer-t") == ["usd": 2500])
            #expect(try await driver.balance("gateway_clearing") == -2500)
            try await driver.expectBalanced()
        }
    }

    @Test func anAdminGrantIsBookedOncePerKeyAndChecked() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            struct Grant: Encodable { var amount: Int64; var currency: String; var reason: String }
            let grant = Grant(amount: 500, currency: "USD", reason: "late delivery goodwill")
            for _ in 0..<2 {
                let reply = try await service.call(.post, "/api/v1/admin/wallets/buyer-g/credits", as: "ops", roles: ["admin"], body: grant, idempotencyKey: "goodwill-1")
                #expect(reply.status == .created, "\(reply.text)")
            }
            #expect(try await balances(service, "buyer-g") == ["usd": 500])
            #expect(try await driver.balance("wallet_credit_grants") == -500)
            #expect(try await service.call(.post, "/api/v1/admin/wallets/buyer-g/credits", as: "buyer-g", roles: ["buyer"], body: grant, idempotencyKey: "k").status == .forbidden)
            #expect(try await service.call(.post, "/api/v1/admin/wallets/buyer-g/credits", as: "ops", roles: ["admin"],
                                           body: Grant(amount: 0, currency: "usd", reason: "x"), idempotencyKey: "k2").status == .unprocessableContent)
            let admin = try await service.call(.get, "/api/v1/admin/wallets/buyer-g", as: "ops", roles: ["admin"]).json()
            #expect(((admin["history"] as? [String: Any])?["items"] as? [[String: Any]])?.first?["memo"] as? String == "credit granted by ops: late delivery goodwill")
            try await driver.expectBalanced()
        }
    }
}
