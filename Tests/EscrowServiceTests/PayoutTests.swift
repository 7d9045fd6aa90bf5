import AsyncHTTPClient
import EventContracts
import Foundation
import NIOCore
import Testing
import TestSupport

@testable import EscrowService

@Suite struct PayoutTests {
    @Test func twentyConcurrentPayoutsNeverPayOutMoreThanTheBalance() async throws {
        // The per-user rate limit (tested on its own) would answer most of the burst with 429.
        try await ServiceHarness.run(
            .escrowService, topics: EscrowDriver.topics, environment: ["RATE_LIMIT_PER_MINUTE": "6000", "RATE_LIMIT_BURST": "100"]
        ) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-p")
            let order = UUID()
            try await driver.pay([(order, "seller-p", 5000)])
            try await driver.order("order.delivered", order, seller: "seller-p")
            #expect(try await driver.waitFor(order, status: "released"))
            #expect(try await driver.balance("seller_available:seller-p") == 4750)

            // All at once, through a client with a generous timeout: the requests queue on the
            // seller's lock, which on a loaded test machine takes longer than the harness allows.
            let port = try #require(service.port)
            let token = try await service.token("seller-p", ["seller"])
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for attempt in 0..<20 {
                    group.addTask {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/payouts")
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "Idempotency-Key", value: "payout-\(attempt)")
                        request.body = .bytes(ByteBuffer(string: #"{"amount":1000,"currency":"usd"}"#))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 202 }.count == 4, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 422 }.count == 16, "\(statuses.sorted())")
            #expect(try await service.database.count("SELECT COALESCE(sum(amount), 0)::int FROM payouts WHERE status <> 'failed'") == 4000)
            // A payout whose request lost the race to the command worker is sent a moment later.
            #expect(try await service.eventually {
                try await driver.gateway("payouts", "byStatus", "pending", "amount") + driver.gateway("payouts", "byStatus", "paid", "amount") == 4000
            })
            #expect(try await driver.balance("seller_available:seller-p") == 750)
            #expect(try await driver.balance("seller_in_transit:seller-p") == 4000)

            // A retry with the same key is the same payout; more than the balance is refused.
            let replay = try await service.call(
                .post, "/api/v1/payouts", as: "seller-p", roles: ["seller"], body: PayoutBody(amount: 1000, currency: "usd"),
                idempotencyKey: "payout-0")
            #expect(replay.status.code == 202 || replay.status.code == 422)
            #expect(try await service.database.count("SELECT count(*) FROM payouts") == 4)
            let tooMuch = try await service.call(
                .post, "/api/v1/payouts", as: "seller-p", roles: ["seller"], body: PayoutBody(amount: 751, currency: "usd"), idempotencyKey: "big")
            #expect(tooMuch.status == .unprocessableContent)
            #expect(try tooMuch.json()["available"] as? String == "750")
            #expect(try await service.call(
                .post, "/api/v1/payouts", as: "seller-p", roles: ["seller"], body: PayoutBody(amount: -5, currency: "usd"), idempotencyKey: "neg"
            ).status == .unprocessableContent)
            #expect(try await service.call(
                .post, "/api/v1/payouts", as: "seller-p", roles: ["seller"], body: PayoutBody(amount: 5, currency: "usd")
            ).status == .badRequest)

            // The gateway settles them: one paid, one failed (its amount is available again).
            let ids = try await service.database.client.query(
                "SELECT stripe_payout_id FROM payouts ORDER BY created_at", logger: TestEnvironment.logger
            ).decode(String.self).all()
            try #require(ids.count == 4)
            try await service.publish(
                GatewayPayoutUpdated(payoutId: ids[0], accountId: nil, status: "paid", amount: 1000, currency: "usd", failureCode: nil),
                topic: Topic.payments, aggregateId: ids[0])
            try await service.publish(
                GatewayPayoutUpdated(payoutId: ids[1], accountId: nil, status: "failed", amount: 1000, currency: "usd", failureCode: "account_closed"),
                topic: Topic.payments, aggregateId: ids[1])
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM payouts WHERE status IN ('paid', 'failed')") == 2 })
            #expect(try await driver.balance("seller_available:seller-p") == 1750)
            #expect(try await driver.balance("seller_paid_out:seller-p") == 1000)
            #expect(try await service.outboxCount("payout.failed") == 1)
            #expect(try await service.eventuallyMetrics(show: #"escrow_payouts{status="failed"} 1"#))
            let metrics = try await service.metrics()
            #expect(metrics.contains(#"escrow_payouts{status="paid"} 1"#) && metrics.contains(#"escrow_payouts{status="in_transit"} 2"#), "\(metrics)")
            // The gauge reads the counts the table keeps: they are the table's.
            #expect(try await service.database.keptCountsDiffering("payout_status_counts", from: "payouts") == 0)
            let history = try await service.call(.get, "/api/v1/payouts?limit=3", as: "seller-p", roles: ["seller"]).json()
            #expect((history["items"] as? [Any])?.count == 3)
            #expect(history["nextCursor"] is String)
            let balance = try await service.call(.get, "/api/v1/sellers/me/balance", as: "seller-p", roles: ["seller"]).json()
            let usd = try #require((balance["balances"] as? [[String: Any]])?.first)
            #expect(usd["available"] as? Int == 1750 && usd["inTransit"] as? Int == 2000 && usd["paidOut"] as? Int == 1000)
            try await driver.expectBalanced()
        }
    }
}
