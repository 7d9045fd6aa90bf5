import EventContracts
import Foundation
import Testing
import TestSupport

@testable import EscrowService

@Suite struct AdminSellersTests {
    @Test(arguments: [
        (true, true, true, SellerVerification.verified), (true, true, false, .verified), (false, true, true, .restricted),
        (true, false, true, .restricted), (false, false, true, .restricted), (false, false, false, .pending),
    ])
    func verificationFollowsWhatStripeEnabled(_ charges: Bool, _ payouts: Bool, _ submitted: Bool, _ expected: SellerVerification) {
        #expect(SellerVerification(chargesEnabled: charges, payoutsEnabled: payouts, detailsSubmitted: submitted) == expected)
    }

    /// Admins list sellers newest first, a page at a time, and by verification status.
    @Test func adminsListSellersByVerificationStatus() async throws {
        try await ServiceHarness.run(.escrowService, topics: EscrowDriver.topics) { service in
            let driver = EscrowDriver(service: service)
            try await driver.onboard("seller-verified")
            try await driver.onboard("seller-pending", payoutsEnabled: false)
            let restricted = try await driver.onboard("seller-restricted", payoutsEnabled: false)
            // Submitted, but Stripe still wants a bank account: charges and payouts stay off.
            try await service.publish(
                GatewayAccountUpdated(
                    accountId: restricted, chargesEnabled: false, payoutsEnabled: false, detailsSubmitted: true,
                    currentlyDue: ["external_account"], stripeEventId: "evt_\(UUID())", stripeCreated: Int64(Date().timeIntervalSince1970) + 1),
                topic: Topic.payments, aggregateId: restricted)
            #expect(try await service.eventually {
                try await service.database.count("SELECT count(*) FROM seller_accounts WHERE details_submitted AND NOT payouts_enabled") == 1
            })

            func list(_ query: String) async throws -> (items: [[String: Any]], next: String?) {
                let reply = try await service.call(.get, "/api/v1/admin/sellers\(query)", as: "admin-1", roles: ["admin"])
                try #require(reply.status == .ok, "\(reply.text)")
                let json = try reply.json()
                return (try #require(json["items"] as? [[String: Any]]), json["nextCursor"] as? String)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await list("?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.items.count == 1)
                seen += page.items.compactMap { $0["sellerId"] as? String }
                cursor = page.next
            } while cursor != nil && seen.count < 10
            #expect(seen == ["seller-restricted", "seller-pending", "seller-verified"])

            #expect(try await list("?status=verified").items.map { $0["sellerId"] as? String } == ["seller-verified"])
            #expect(try await list("?status=pending").items.map { $0["sellerId"] as? String } == ["seller-pending"])
            let flagged = try await list("?status=restricted").items
            #expect(flagged.map { $0["sellerId"] as? String } == ["seller-restricted"])
            #expect(flagged.first?["currentlyDue"] as? [String] == ["external_account"])
            #expect(flagged.first?["accountId"] as? String == restricted)

            #expect(try await service.call(.get, "/api/v1/admin/sellers", as: "seller-verified", roles: ["seller"]).status == .forbidden)
            #expect(try await service.call(.get, "/api/v1/admin/sellers?status=odd", as: "admin-1", roles: ["admin"]).status == .badRequest)
            #expect(try await service.call(.get, "/api/v1/admin/sellers?cursor=!!!", as: "admin-1", roles: ["admin"]).status == .badRequest)
            #expect(try await service.call(.get, "/api/v1/admin/sellers?limit=0", as: "admin-1", roles: ["admin"]).status == .badRequest)
        }
    }
}
