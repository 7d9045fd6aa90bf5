import AsyncHTTPClient
import EventContracts
import Foundation
import NIOHTTP1
import StripeClient
import TestSupport
import Testing

@Suite struct ConnectTests {
    @Test func theOnboardingPageCompletesTheAccountAndReturnsToTheMarketplace() async throws {
        let receiver = try await WebhookReceiver(secret: "whsec_simulator_tests")
        defer { Task { await receiver.stop() } }
        let sim = try await SimulatorHarness(environment: ["SIM_WEBHOOK_URL": receiver.url])
        defer { sim.stop() }
        let account = try await sim.connectedAccount(onboarded: false)
        #expect(account.payouts_enabled == false && account.charges_enabled == false)
        #expect(account.requirements?.currently_due == ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"])
        let link: AccountLink = try await sim.client().post(
            "/v1/account_links",
            [("account", .string(account.id)), ("refresh_url", "https://market.test/refresh"), ("return_url", "https://market.test/return"),
             ("type", "account_onboarding")],
            idempotencyKey: "link-1")
        #expect(link.url.hasPrefix(sim.url + "/connect/onboarding/\(account.id)?link="))

        let browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let page = try await browser.execute(HTTPClientRequest(url: link.url), timeout: .seconds(5))
        let html = String(buffer: try await page.body.collect(upTo: 1 << 16))
        #expect(page.status == .ok && html.contains("000111111116"))
        var submit = HTTPClientRequest(url: link.url)
        submit.method = .POST
        submit.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        submit.body = .bytes(.init(string: "outcome=complete"))
        let done = try await browser.execute(submit, timeout: .seconds(5))
        // A link is single use: opening it again goes to refresh_url.
        let reused = try await browser.execute(HTTPClientRequest(url: link.url), timeout: .seconds(5))
        try await browser.shutdown()
        #expect(done.status == .seeOther && done.headers.first(name: "Location") == "https://market.test/return")
        #expect(reused.headers.first(name: "Location") == "https://market.test/refresh")

        let updated = try #require(try await receiver.event("account.updated"))
        #expect(updated.signatureValid)
        #expect(updated.event.account == account.id)
        let object = try updated.event.object(as: Account.self)
        #expect(object.payouts_enabled == true && object.requirements?.currently_due == [])
    }

    @Test func transfersAreListedByGroupAndReversedUpToWhatIsLeft() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 10_000, group: "checkout-7")
        let alice = try await sim.connectedAccount()
        let bob = try await sim.connectedAccount()
        let first = try await sim.transfer(6_000, from: charge, to: alice.id, group: "checkout-7")
        let second = try await sim.transfer(3_000, from: charge, to: bob.id, group: "checkout-7")
        #expect(first.destination?.id == alice.id && first.source_transaction?.id == charge)

        struct TransferList: Decodable { var object: String; var data: [Transfer]; var has_more: Bool }
        let list: TransferList = try await sim.client().get("/v1/transfers?transfer_group=checkout-7&limit=1")
        #expect(list.object == "list" && list.data.map(\.id) == [second.id] && list.has_more)
        let all: TransferList = try await sim.client().get("/v1/transfers?transfer_group=checkout-7&limit=10")
        #expect(Set(all.data.map(\.id)) == [first.id, second.id] && !all.has_more)

        let reversal: TransferReversal = try await sim.client().post(
            "/v1/transfers/\(first.id)/reversals", [("amount", 2_500)], idempotencyKey: "reverse-1")
        #expect(reversal.amount == 2_500 && reversal.transfer.id == first.id)
        let tooMuch = await stripeError {
            try await sim.client().post(
                "/v1/transfers/\(first.id)/reversals", [("amount", 3_501)], idempotencyKey: "reverse-2", as: TransferReversal.self)
        }
        #expect(tooMuch?.kind == .invalidRequest)
        let after: Transfer = try await sim.client().get("/v1/transfers/\(first.id)")
        #expect(after.amount_reversed == 2_500 && !after.reversed)

        let group = try #require(try await sim.state("transfers", "byTransferGroup", "checkout-7"))
        #expect(group["count"]?.integer == 2 && group["amount"]?.integer == 9_000 && group["amountReversed"]?.integer == 2_500)
        #expect(try await sim.state("balances", "accounts", alice.id, "usd")?.integer == 3_500)
    }

    @Test func transfersToMissingOrUnboardedAccountsOrBeyondTheChargeAreRefused() async throws {
        let sim = try await SimulatorHarness()
        defer { sim.stop() }
        let (_, charge) = try await sim.paidCharge(amount: 1_000, group: "checkout-8")
        let pending = try await sim.connectedAccount(onboarded: false)
        let ready = try await sim.connectedAccount()

        let missing = await stripeError { try await sim.transfer(100, from: charge, to: "acct_missing", group: "checkout-8") }
        #expect(missing?.code == "resource_missing")
        let notOnboarded = await stripeError { try await sim.transfer(100, from: charge, to: pending.id, group: "checkout-8") }
        #expect(notOnboarded?.code == "insufficient_capabilities_for_transfer")
        _ = try await sim.transfer(800, from: charge, to: ready.id, group: "checkout-8")
        let beyond = await stripeError { try await sim.transfer(201, from: charge, to: ready.id, group: "checkout-8") }
        #expect(beyond?.code == "balance_insufficient")
        #expect(try await sim.state("transfers", "count")?.integer == 1)
    }
}
