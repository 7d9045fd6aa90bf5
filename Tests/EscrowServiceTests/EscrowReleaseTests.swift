import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService

@Suite struct EscrowReleaseTests {
    @Test func releaseIsParkedUntilTheSellerCanReceivePayoutsThenHappensOnce() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            let order = UUID()
            try await driver.pay([(order, "seller-r", 5000)], buyer: "buyer-r")

            try await driver.order("order.delivered", order, seller: "seller-r", buyer: "buyer-r")
            #expect(try await driver.waitFor(order, status: "parked"))
            #expect(try await service.outboxCount("escrow.released") == 0)
            #expect(try await service.outboxCount("escrow.release_parked") == 1)
            #expect(try await service.eventuallyMetrics(show: #"escrow_held_minor_units{currency="usd"} 5000"#))

            // Onboarding creates the account (once, however often it is asked for) …
            let first = try await service.call(.post, "/api/v1/sellers/stripe-onboard", as: "seller-r", roles: ["seller"]).json()
            let second = try await service.call(.post, "/api/v1/sellers/stripe-onboard", as: "seller-r", roles: ["seller"]).json()
            let account = try #require(first["accountId"] as? String)
            #expect(second["accountId"] as? String == account)
            #expect((first["onboardingUrl"] as? String)?.contains("/connect/onboarding/\(account)") == true)
            #expect(first["expiresAt"] is String)
            let pending = try await service.call(.get, "/api/v1/sellers/me/stripe-status", as: "seller-r", roles: ["seller"]).json()
            #expect(pending["payoutsEnabled"] as? Bool == false)
            #expect((pending["currentlyDue"] as? [String])?.isEmpty == false)
            #expect(try await driver.status(order) == "parked")

            // … and the gateway then reports it can receive payouts: the parked release happens.
            try await driver.onboardAtGateway(account)
            let now = Int64(Date().timeIntervalSince1970)
            try await service.publish(
                GatewayAccountUpdated(accountId: account, chargesEnabled: true, payoutsEnabled: true, detailsSubmitted: true,
                                      currentlyDue: [], stripeEventId: "evt_new", stripeCreated: now),
                topic: Topic.payments, aggregateId: account)
            #expect(try await service.eventually { try await service.outboxCount("escrow.released") == 1 })

            // An older account report and a duplicate delivery (another event id) change nothing.
            try await service.publish(
                GatewayAccountUpdated(accountId: account, chargesEnabled: false, payoutsEnabled: false, detailsSubmitted: false,
                                      currentlyDue: ["external_account"], stripeEventId: "evt_old", stripeCreated: now - 60),
                topic: Topic.payments, aggregateId: account)
            try await driver.order("order.delivered", order, seller: "seller-r", buyer: "buyer-r")
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM inbox") == 5 })
            #expect(try await service.outboxCount("escrow.released") == 1)
            #expect(try await driver.gateway("transfers", "count") == 1)
            #expect(try await driver.transfers().filter { $0.amount == 4750 && $0.destination?.id == account }.count == 1)
            #expect(try await service.database.count("SELECT count(*) FROM seller_accounts WHERE payouts_enabled") == 1)
            let transferId = try #require(try await driver.transfers().first?.id)
            #expect(try await service.database.count("SELECT count(*) FROM escrows WHERE status = 'released' AND transfer_id = \(transferId)") == 1)

            // The platform kept its fee and the seller's net is available.
            try await driver.expectBalanced()
            #expect(try await driver.balance("platform_fees") == 250)
            #expect(try await driver.balance("seller_available:seller-r") == 4750)
            #expect(try await service.database.count("SELECT COALESCE(sum(amount), 0)::int FROM journal_entries WHERE account LIKE 'escrow_held:%'") == 0)
            // Nothing held: the gauge has no sample for the currency.
            #expect(try await service.eventually { try await !service.metrics().contains(#"escrow_held_minor_units{currency="usd"}"#) })
            // Reconciliation holds the balance kept for the gauge against the entries.
            let held = LedgerAccount.escrowHeld(try #require(try await service.database.client.query(
                "SELECT id FROM escrows WHERE order_id = \(order)", logger: TestEnvironment.logger).decode(UUID.self).all().first)).description
            try await service.database.client.query(
                "UPDATE escrow_held_balances SET balance = balance + 1 WHERE account = \(held)", logger: TestEnvironment.logger)
            let report = try await service.call(.post, "/api/v1/admin/reconciliation", as: "admin-1", roles: ["admin"]).json()
            let ledger = (report["discrepancies"] as? [[String: Any]])?.filter { $0["kind"] as? String == "ledger" }
            #expect(ledger?.count == 1 && ledger?.first?["expected"] as? String == "kept balance 0"
                && ledger?.first?["actual"] as? String == "kept balance -1", "\(report)")
            try await service.database.client.query(
                "UPDATE escrow_held_balances SET balance = balance - 1 WHERE account = \(held)", logger: TestEnvironment.logger)
            let balance = try await service.call(.get, "/api/v1/sellers/me/balance", as: "seller-r", roles: ["seller"]).json()
            let usd = try #require((balance["balances"] as? [[String: Any]])?.first)
            #expect(usd["available"] as? Int == 4750)
            #expect(usd["pending"] as? Int == 0)

            let status = try await service.call(.get, "/api/v1/sellers/me/stripe-status", as: "seller-r", roles: ["seller"]).json()
            #expect(status["payoutsEnabled"] as? Bool == true)
        }
    }

    @Test func duplicateDeliveriesAtOnceMakeOneTransfer() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-d")
            let order = UUID()
            try await driver.pay([(order, "seller-d", 1999)])
            // The same event redelivered and a second delivery under another id.
            let id = UUID()
            try await driver.order("order.delivered", order, seller: "seller-d", id: id)
            try await driver.order("order.delivered", order, seller: "seller-d", id: id)
            try await driver.order("order.delivered", order, seller: "seller-d")
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM inbox WHERE event_type = 'order.delivered'") == 2 })
            // The transfer is made by the command worker after the first delivery's commit.
            #expect(try await driver.waitFor(order, status: "released"))
            #expect(try await driver.gateway("transfers", "count") == 1)
            #expect(try await service.database.count("SELECT count(*) FROM gateway_commands WHERE kind = 'release_transfer'") == 1)
            #expect(try await service.outboxCount("escrow.released") == 1)
            #expect(try await driver.balance("seller_available:seller-d") == 1999 - 100)
            try await driver.expectBalanced()
        }
    }

    @Test func aDeliveryThatOvertakesThePaymentIsAppliedWhenTheEscrowOpens() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-o")
            let order = UUID()
            try await driver.order("order.delivered", order, seller: "seller-o")
            #expect(try await service.eventually { try await service.database.count("SELECT count(*) FROM deferred_order_events") == 1 })
            try await driver.pay([(order, "seller-o", 3000)])
            #expect(try await driver.waitFor(order, status: "released"))
            #expect(try await service.database.count("SELECT count(*) FROM deferred_order_events") == 0)
            try await driver.expectBalanced()
        }
    }

    @Test func escrowsHeldTooLongAreFlaggedOnce() async throws {
        try await ServiceHarness.run(
            .escrowService, topics: EscrowDriver.topics,
            environment: ["ESCROW_HOLD_LIMIT_SECONDS": "1", "ESCROW_TIMER_INTERVAL_SECONDS": "1"]
        ) { service in
            let driver = EscrowDriver(service: service)
            let order = UUID()
            try await driver.pay([(order, "seller-f", 1000)])
            #expect(try await service.eventually { try await service.outboxCount("escrow.flagged") == 1 })
            try await Task.sleep(for: .seconds(2))
            #expect(try await service.outboxCount("escrow.flagged") == 1)
            let flagged = try await service.call(.get, "/api/v1/admin/escrows/flagged", as: "admin-1", roles: ["admin"]).json()
            let items = try #require(flagged["items"] as? [[String: Any]])
            #expect(items.count == 1 && (items[0]["orderId"] as? String)?.lowercased() == order.uuidString.lowercased())
            #expect(try await service.call(.get, "/api/v1/admin/escrows/flagged", as: "seller-f", roles: ["seller"]).status == .forbidden)
            // Operators see it in /metrics (alert EscrowHeldTooLong).
            #expect(try await service.eventuallyMetrics(show: "escrow_held_over_limit_escrows 1"))
            #expect(try await service.metrics().contains("escrow_hold_limit_seconds 1\n"))
        }
    }
}
